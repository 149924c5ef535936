#ifndef GRALARM_WEB_ASSETS_H_
#define GRALARM_WEB_ASSETS_H_

#include <string_view>

namespace gralarm {

// The operator web page (src/api/web/index.html), compiled into the binary.
std::string_view IndexHtml();

// A file the page loads from its own origin (GET /assets/<name>), compiled
// into the binary at build time: the chart library from a Debian package, and
// the page's own scripts (src/api/web/*.js).
struct WebAsset {
  std::string_view name;          // "dygraph.min.js"
  std::string_view content_type;  // the Content-Type it is served with
  std::string_view body;
};

// The asset called `name` (the path after "/assets/"), or nullptr.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace gralarm

#endif  // GRALARM_WEB_ASSETS_H_
