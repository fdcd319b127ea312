#pragma once
// The report pages' assets (report_assets/), built into the binary by flotilla_embed_assets
// (cmake/FlotillaEmbed.cmake). Private to report_html.cpp and to serve's dashboard page
// (serve/dashboard_page.cpp), which reuses the style and the chart script.
#include <string_view>

namespace flotilla::report_assets {

// Every page's document: {{title}}, {{style}}, {{body}} (the markup the script draws into),
// {{data}} (JSON) and {{script}} are filled in.
extern const std::string_view kPageHtml;
extern const std::string_view kPageCss;
// SVG charts, markers, tooltips and tables shared by both pages.
extern const std::string_view kChartsJs;
// Builds the run's page (data "page": "run") or the comparison's ("compare").
extern const std::string_view kPagesJs;

}  // namespace flotilla::report_assets
