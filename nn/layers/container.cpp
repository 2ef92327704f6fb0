#include "nn/layers/container.h"

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
    for (const auto& [_, m] : children()) y = m->forward(y);
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
