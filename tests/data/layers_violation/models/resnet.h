#pragma once
#include "nn/block.h"
