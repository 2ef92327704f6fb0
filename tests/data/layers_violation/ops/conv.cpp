#include "tensor/tensor.h"
#include <oneapi/dnnl/dnnl.hpp>
