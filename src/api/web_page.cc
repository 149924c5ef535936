#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "gralarm/api.h"
#include "gralarm/strings.h"
#include "gralarm/web_assets.h"

namespace gralarm {
namespace {

// "'sha256-<base64>'" of a CSP source list, for one inline element's text.
std::string HashSource(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return StrCat("'sha256-",
                absl::Base64Escape(absl::string_view(
                    reinterpret_cast<const char*>(digest), size)),
                "'");
}

// The hash sources of every <tag>...</tag> of the page (tags without
// attributes, as the page writes them).
std::string HashesOf(std::string_view page, std::string_view tag) {
  const std::string open = StrCat("<", tag, ">");
  const std::string close = StrCat("</", tag, ">");
  std::string out;
  size_t at = 0;
  while ((at = page.find(open, at)) != std::string_view::npos) {
    const size_t begin = at + open.size();
    const size_t end = page.find(close, begin);
    if (end == std::string_view::npos) break;
    out += " " + HashSource(page.substr(begin, end - begin));
    at = end + close.size();
  }
  return out;
}

std::string PagePolicy() {
  const std::string_view page = IndexHtml();
  return StrCat("default-src 'none'; script-src", HashesOf(page, "script"),
                "; style-src", HashesOf(page, "style"),
                "; connect-src 'self'; img-src 'self'; form-action 'self'; "
                "base-uri 'none'; frame-ancestors 'none'");
}

}  // namespace

HttpResponse WebPageResponse() {
  static const std::string* const kPolicy = new std::string(PagePolicy());
  HttpResponse r{200, "text/html; charset=utf-8", std::string(IndexHtml())};
  r.headers.emplace_back("Content-Security-Policy", *kPolicy);
  return r;
}

}  // namespace gralarm
