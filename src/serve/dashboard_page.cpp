#include "serve/dashboard_page.h"

#include "core/format.h"
#include "scenario/report_assets.h"
#include "serve/dashboard_assets.h"

namespace flotilla {

std::string dashboard_page() {
  // The report pages' document, style and chart code, with the dashboard's own after them.
  const std::string style =
      std::string(report_assets::kPageCss) + "\n" + std::string(dashboard_assets::kDashboardCss);
  const std::string script =
      std::string(report_assets::kChartsJs) + "\n" + std::string(dashboard_assets::kDashboardJs);
  return fill_template(report_assets::kPageHtml, {{"title", "flotilla serve"},
                                                  {"style", style},
                                                  {"body", dashboard_assets::kDashboardHtml},
                                                  {"data", R"({"page": "dashboard"})"},
                                                  {"script", script}});
}

}  // namespace flotilla
