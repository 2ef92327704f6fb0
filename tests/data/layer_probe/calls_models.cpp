// Linked against cardinal_nn alone by the ctest "layers: a program linking only nn cannot call
// models/": create_model is defined in cardinal_models, which nn does not link, so the link must
// fail with an undefined reference.
#include <memory>
#include <string>

namespace cardinal {
class Generator;
class ResNet;
std::shared_ptr<ResNet> create_model(const std::string& name, Generator* gen);
}  // namespace cardinal

int main() { return cardinal::create_model("resnext_small", nullptr) ? 0 : 1; }
