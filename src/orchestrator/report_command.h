#pragma once
// `flotilla report DIR`: rebuilds DIR/report.html from DIR/report.json and DIR/timeseries.csv as
// `flotilla run` wrote them (scenario/report_html.h), e.g. after a newer flotilla changed the
// page, or for a run folder copied from elsewhere. Prints the page's path and returns 0.
// A folder that is not there, a file missing or malformed throws UserError naming the file (and
// the field or line) and what was expected.
#include <iosfwd>
#include <string>

namespace flotilla {

struct ReportOptions {
  std::string dir;
};

int report_command(const ReportOptions& options, std::ostream& out);

}  // namespace flotilla
