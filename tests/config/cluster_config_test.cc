#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gralarm/config.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ErrorOf(std::string_view toml) {
  auto c = ParseConfig(toml, "c.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ClusterConfig, OffByDefault) {
  auto c = ParseConfig("", "c.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE((*c)->cluster.enabled());
  EXPECT_EQ((*c)->cluster.failover_s, 30);
}

TEST(ClusterConfig, ReadsAPair) {
  auto c = ParseConfig(R"([cluster]
node_id = "dc1-a"
listen = "127.0.0.1:2005"
peers = ["10.0.0.2:2005"]
peer_apis = ["http://10.0.0.2:2080/"]
peer_token = "s3cret"
failover_s = 10
timeout_ms = 800
)",
                       "c.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const ClusterOptions& o = (*c)->cluster;
  EXPECT_TRUE(o.enabled());
  EXPECT_EQ(o.node_id, "dc1-a");
  EXPECT_EQ(o.listen, "127.0.0.1:2005");
  EXPECT_THAT(o.peers, ElementsAre("10.0.0.2:2005"));
  EXPECT_THAT(o.peer_apis, ElementsAre("http://10.0.0.2:2080"));
  EXPECT_EQ(o.peer_token, "s3cret");
  EXPECT_EQ(o.failover_s, 10);
  EXPECT_EQ(o.timeout_ms, 800);
}

TEST(ClusterConfig, ReadsThePeerTokenFromAFile) {
  std::string path = ::testing::TempDir() + "/cluster_peer_token";
  std::ofstream(path) << "  t0ken \nsecond line\n";
  auto c = ParseConfig(R"([cluster]
node_id = "a"
peers = ["b:2005"]
peer_apis = ["http://b:2080"]
peer_token_file = ")" + path + "\"\n",
                       "c.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->cluster.peer_token, "t0ken");
  std::filesystem::remove(path);
}

TEST(ClusterConfig, RefusesWhatCannotFormAPair) {
  EXPECT_THAT(ErrorOf("[cluster]\npeers = [\"b:2005\"]\n"
                      "peer_apis = [\"http://b:2080\"]\n"),
              HasSubstr("cluster.node_id is required"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a b\"\npeers = [\"b:2005\"]\n"
                      "peer_apis = [\"http://b:2080\"]\n"),
              HasSubstr("c.toml:2:11: cluster.node_id \"a b\" must be 1 to 64"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\n"),
              HasSubstr("cluster.peers needs"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\npeers = [\"b\"]\n"
                      "peer_apis = [\"http://b:2080\"]\n"),
              HasSubstr("cluster.peers \"b\""));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\npeers = [\"b:2005\"]\n"),
              HasSubstr("cluster.peer_apis has 0 URLs for 1 cluster.peers"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\npeers = [\"b:2005\"]\n"
                      "peer_apis = [\"b:2080\"]\n"),
              HasSubstr("must start with http:// or https://"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\npeers = [\"b:2005\"]\n"
                      "peer_apis = [\"http://b:2080\"]\npeer_token = \"x\"\n"
                      "peer_token_file = \"/nonexistent\"\n"),
              HasSubstr("not both"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\npeers = [\"b:2005\"]\n"
                      "peer_apis = [\"http://b:2080\"]\nfailover_s = 0\n"),
              HasSubstr("cluster.failover_s must be between 1 and 86400"));
  EXPECT_THAT(ErrorOf("[cluster]\nnode_id = \"a\"\npeers = [\"b:2005\"]\n"
                      "peer_apis = [\"http://b:2080\"]\nmode = \"x\"\n"),
              HasSubstr("unknown key \"mode\" in [cluster]"));
}

}  // namespace
}  // namespace gralarm
