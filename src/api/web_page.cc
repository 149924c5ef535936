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

// Scripts and styles: those inline in the page, by their hash, and the files
// gralarm itself serves under /assets/ ('self').
std::string PagePolicy() {
  const std::string_view page = IndexHtml();
  return StrCat("default-src 'none'; script-src", HashesOf(page, "script"),
                " 'self'; style-src", HashesOf(page, "style"), " 'self'",
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

HttpResponse WebAssetResponse(const HttpRequest& request) {
  constexpr std::string_view kPrefix = "/assets/";
  if (request.method != "GET" && request.method != "HEAD") {
    return HttpResponse{
        405, "application/json",
        R"({"error":{"code":"method_not_allowed","message":"GET only"}})"};
  }
  const std::string_view path = request.path;
  const WebAsset* asset = path.substr(0, kPrefix.size()) == kPrefix
                              ? FindWebAsset(path.substr(kPrefix.size()))
                              : nullptr;
  if (asset == nullptr) {
    return HttpResponse{
        404, "application/json",
        R"({"error":{"code":"not_found","message":"no such asset"}})"};
  }
  return HttpResponse{200, std::string(asset->content_type),
                      std::string(asset->body)};
}

}  // namespace gralarm
