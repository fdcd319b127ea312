#pragma once
// The dashboard's assets (dashboard_assets/), built into the binary by flotilla_embed_assets
// (cmake/FlotillaEmbed.cmake). Private to dashboard_page.cpp.
#include <string_view>

namespace flotilla::dashboard_assets {

// The page's body, for the report pages' document (report_assets::kPageHtml).
extern const std::string_view kDashboardHtml;
// Its own style, after the report pages' (report_assets/page.css).
extern const std::string_view kDashboardCss;
// Polls the admin API and draws the page with the report's charts.js.
extern const std::string_view kDashboardJs;

}  // namespace flotilla::dashboard_assets
