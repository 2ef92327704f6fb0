#include "nn/layers/container.h"

#include "nn/layers/activation.h"
#include "nn/layers/conv_bn_fold.h"

namespace cardinal {

Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
    for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(ModulePtr m) { register_module(std::to_string(size()), std::move(m)); }

const ModulePtr& Sequential::operator[](size_t i) const {
    check<IndexError>(i < size(), "Sequential: index ", i, " out of range for ", size(), " modules");
    return children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    const auto& ch = children();
    for (size_t i = 0; i < ch.size(); ++i) {
        // Conv2d -> BatchNorm2d (-> ReLU) runs folded in eval inference (nn/layers/conv_bn_fold.h).
        auto conv = std::dynamic_pointer_cast<Conv2d>(ch[i].second);
        auto bn = i + 1 < ch.size() ? std::dynamic_pointer_cast<BatchNorm2d>(ch[i + 1].second) : nullptr;
        if (conv && bn && can_fold_conv_bn(*conv, *bn, y)) {
            const bool relu = i + 2 < ch.size() && std::dynamic_pointer_cast<ReLU>(ch[i + 2].second);
            y = conv_bn_act(*conv, *bn, y, relu);
            i += relu ? 2 : 1;
            continue;
        }
        y = ch[i].second->forward(y);
    }
    return y;
}

ModuleList::ModuleList(std::initializer_list<ModulePtr> modules) {
    for (const auto& m : modules) push_back(m);
}

void ModuleList::push_back(ModulePtr m) { register_module(std::to_string(size()), std::move(m)); }

const ModulePtr& ModuleList::operator[](size_t i) const {
    check<IndexError>(i < size(), "ModuleList: index ", i, " out of range for ", size(), " modules");
    return children()[i].second;
}

Tensor ModuleList::forward(const Tensor&) {
    fail<ValueError>("ModuleList: has no forward; call its modules (", size(), ") one by one");
}

}  // namespace cardinal
