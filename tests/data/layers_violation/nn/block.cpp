#include "ops/conv.h"
#include "models/resnet.h"
#include "../models/resnet.h"
