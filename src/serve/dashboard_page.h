#pragma once
// The live dashboard of `flotilla serve`, answered to GET / on the admin address: one
// self-contained HTML document (style and script inline; no font, script or style is fetched,
// so it works offline). Its script reads the admin API of the origin that served it each second
// (/api/v1/summary, /series?since=T, /group, /workers, /targets, /activities, /decisions), with
// the cookie or nothing for auth, and its buttons POST to /api/v1/workers/ID/kill, /group and
// /load. Pure: the same text on every call.
#include <string>

namespace flotilla {

std::string dashboard_page();

}  // namespace flotilla
