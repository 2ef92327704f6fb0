#include "apps/curves_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace cardinal::apps {
namespace {

constexpr double kPanelW = 440, kPanelH = 300;          // one panel, margins included
constexpr double kLeft = 60, kRight = 20, kTop = 40, kBottom = 50;
const char* kTrainColor = "#1f77b4";
const char* kTestColor = "#d62728";

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '&') out += "&amp;";
        else out += c;
    }
    return out;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target` ticks.
double nice_step(double range, int target) {
    const double raw = range / target;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) return m * mag;
    return 10 * mag;
}

struct Series {
    const char* label;
    const char* color;
    bool dashed;
    std::function<double(const EpochMetrics&)> value;
};

// One panel at horizontal offset x0: axes, grid, ticks, the series and a legend.
std::string panel(const std::vector<EpochMetrics>& h, double x0, const std::string& title,
                  const std::string& y_label, double y_min, double y_max, bool percent,
                  bool legend_top, const std::vector<Series>& series) {
    const double pw = kPanelW - kLeft - kRight, ph = kPanelH - kTop - kBottom;
    const double ox = x0 + kLeft, oy = kTop;  // top-left of the plot area
    const int64_t first = h.front().epoch, last = h.back().epoch;
    const double e_min = first == last ? first - 1 : first;
    const double e_max = last;
    auto px = [&](double e) { return ox + (e - e_min) / (e_max - e_min) * pw; };
    auto py = [&](double v) { return oy + ph - (v - y_min) / (y_max - y_min) * ph; };

    std::string s;
    s += "<text x=\"" + fmt("%.1f", ox + pw / 2) + "\" y=\"24\" text-anchor=\"middle\" "
         "font-size=\"15\" font-weight=\"bold\">" + escape(title) + "</text>\n";
    // y grid and ticks
    const double ystep = nice_step(y_max - y_min, 5);
    for (double v = std::ceil(y_min / ystep) * ystep; v <= y_max + 1e-9; v += ystep) {
        const double y = py(v);
        s += "<line x1=\"" + fmt("%.1f", ox) + "\" y1=\"" + fmt("%.1f", y) + "\" x2=\"" +
             fmt("%.1f", ox + pw) + "\" y2=\"" + fmt("%.1f", y) + "\" stroke=\"#e0e0e0\"/>\n";
        const std::string label = percent ? fmt("%.0f%%", v * 100) : fmt("%.2g", v);
        s += "<text x=\"" + fmt("%.1f", ox - 6) + "\" y=\"" + fmt("%.1f", y + 4) +
             "\" text-anchor=\"end\" font-size=\"11\">" + label + "</text>\n";
    }
    // x ticks: every epoch, or a nice step when there are many
    const double xstep = std::max(1.0, nice_step(e_max - e_min, 8));
    for (double e = std::ceil(e_min / xstep) * xstep; e <= e_max + 1e-9; e += xstep) {
        const double x = px(e);
        s += "<line x1=\"" + fmt("%.1f", x) + "\" y1=\"" + fmt("%.1f", oy + ph) + "\" x2=\"" +
             fmt("%.1f", x) + "\" y2=\"" + fmt("%.1f", oy + ph + 5) + "\" stroke=\"black\"/>\n";
        s += "<text x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", oy + ph + 18) +
             "\" text-anchor=\"middle\" font-size=\"11\">" + fmt("%.0f", e) + "</text>\n";
    }
    // axes and labels
    s += "<rect x=\"" + fmt("%.1f", ox) + "\" y=\"" + fmt("%.1f", oy) + "\" width=\"" +
         fmt("%.1f", pw) + "\" height=\"" + fmt("%.1f", ph) +
         "\" fill=\"none\" stroke=\"black\"/>\n";
    s += "<text x=\"" + fmt("%.1f", ox + pw / 2) + "\" y=\"" + fmt("%.1f", oy + ph + 38) +
         "\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n";
    s += "<text transform=\"translate(" + fmt("%.1f", x0 + 16) + "," + fmt("%.1f", oy + ph / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + y_label + "</text>\n";
    // series
    for (size_t k = 0; k < series.size(); ++k) {
        const Series& ser = series[k];
        std::string points;
        for (const EpochMetrics& m : h)
            points += fmt("%.1f", px(m.epoch)) + "," + fmt("%.1f", py(ser.value(m))) + " ";
        s += "<polyline fill=\"none\" stroke=\"" + std::string(ser.color) +
             "\" stroke-width=\"2\"" + (ser.dashed ? " stroke-dasharray=\"6,4\"" : "") +
             " points=\"" + points + "\"/>\n";
        for (const EpochMetrics& m : h)
            s += "<circle cx=\"" + fmt("%.1f", px(m.epoch)) + "\" cy=\"" +
                 fmt("%.1f", py(ser.value(m))) + "\" r=\"3\" fill=\"" + ser.color + "\"/>\n";
        // legend, right inside the plot, where the curves are not (top for falling loss,
        // bottom for rising accuracy)
        const double lx = ox + pw - 80;
        const double ly = legend_top ? oy + 16 + 18 * static_cast<double>(k)
                                     : oy + ph - 16 - 18 * static_cast<double>(series.size() - 1 - k);
        s += "<line x1=\"" + fmt("%.1f", lx) + "\" y1=\"" + fmt("%.1f", ly) + "\" x2=\"" +
             fmt("%.1f", lx + 24) + "\" y2=\"" + fmt("%.1f", ly) + "\" stroke=\"" + ser.color +
             "\" stroke-width=\"2\"" + (ser.dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>\n";
        s += "<text x=\"" + fmt("%.1f", lx + 30) + "\" y=\"" + fmt("%.1f", ly + 4) +
             "\" font-size=\"12\">" + ser.label + "</text>\n";
    }
    return s;
}

}  // namespace

std::string render_curves_svg(const std::vector<EpochMetrics>& history, const std::string& title) {
    const double width = 2 * kPanelW, height = kPanelH + 30;
    std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", width) +
                    "\" height=\"" + fmt("%.0f", height) + "\" viewBox=\"0 0 " +
                    fmt("%.0f", width) + " " + fmt("%.0f", height) +
                    "\" font-family=\"sans-serif\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s += "<text x=\"" + fmt("%.0f", width / 2) + "\" y=\"" + fmt("%.0f", height - 8) +
         "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">" + escape(title) + "</text>\n";
    if (history.empty()) return s + "</svg>\n";

    double loss_max = 0;
    double acc_min = 1;
    for (const EpochMetrics& m : history) {
        loss_max = std::max({loss_max, m.train_loss, m.test_loss});
        acc_min = std::min({acc_min, m.train_acc, m.test_acc});
    }
    if (!(loss_max > 0) || !std::isfinite(loss_max)) loss_max = 1;
    const double acc_lo = std::max(0.0, std::floor(acc_min * 10 - 0.5) / 10);

    s += panel(history, 0, "Loss", "cross-entropy", 0, loss_max * 1.1, false, true,
               {{"train", kTrainColor, false, [](const EpochMetrics& m) { return m.train_loss; }},
                {"test", kTestColor, true, [](const EpochMetrics& m) { return m.test_loss; }}});
    s += panel(history, kPanelW, "Accuracy", "accuracy", acc_lo, 1.0, true, false,
               {{"train", kTrainColor, false, [](const EpochMetrics& m) { return m.train_acc; }},
                {"test", kTestColor, true, [](const EpochMetrics& m) { return m.test_acc; }}});
    return s + "</svg>\n";
}

}  // namespace cardinal::apps
