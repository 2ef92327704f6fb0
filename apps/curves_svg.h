// curves.svg: train/test loss and accuracy against epoch, two panels side by side, drawn as
// plain SVG (axes with ticks and labels, one polyline per series, a legend).
#pragma once
#include <string>
#include <vector>

#include "apps/metrics.h"

namespace cardinal::apps {

std::string render_curves_svg(const std::vector<EpochMetrics>& history, const std::string& title);

}  // namespace cardinal::apps
