// Compiled with cardinal_nn's include path by the ctest "layers: nn/ cannot include models/
// (the build refuses)": models/ is above nn/, so its headers must not be found.
#include "models/resnet.h"
