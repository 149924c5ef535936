#ifndef GRALARM_WEB_ASSETS_H_
#define GRALARM_WEB_ASSETS_H_

#include <string_view>

namespace gralarm {

// The operator web page (src/api/web/index.html), compiled into the binary.
std::string_view IndexHtml();

}  // namespace gralarm

#endif  // GRALARM_WEB_ASSETS_H_
