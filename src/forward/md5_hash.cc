// The carbon_ch ring position: the two leading bytes of an MD5 digest. OpenSSL
// 3 marks MD5() deprecated for new cryptographic uses; here it is a fixed,
// non-cryptographic hash that Graphite's rings are defined by.
#include <openssl/md5.h>

#include "gralarm/router.h"

namespace gralarm {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
uint16_t CarbonHashPos(std::string_view key) {
  unsigned char digest[MD5_DIGEST_LENGTH];
  MD5(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return static_cast<uint16_t>((digest[0] << 8) + digest[1]);
}
#pragma GCC diagnostic pop

}  // namespace gralarm
