#pragma once
// The report pages' assets (report_assets/), built into the binary by flotilla_embed_assets
// (cmake/FlotillaEmbed.cmake). Private to report_html.cpp.
#include <string_view>

namespace flotilla::report_assets {

// The page: {{title}}, {{style}}, {{data}} and {{script}} are filled in.
extern const std::string_view kPageHtml;
extern const std::string_view kPageCss;
// SVG charts, markers, tooltips and tables shared by both pages.
extern const std::string_view kChartsJs;
// Builds the run's page (data "page": "run") or the comparison's ("compare").
extern const std::string_view kPagesJs;

}  // namespace flotilla::report_assets
