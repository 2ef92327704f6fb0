#include "models/resnet.h"
#include <oneapi/dnnl/dnnl.h>
