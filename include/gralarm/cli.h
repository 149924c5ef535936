#ifndef GRALARM_CLI_H_
#define GRALARM_CLI_H_

#include <iosfwd>

namespace gralarm {

// Exit codes of every command (README "Commands").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Runs `gralarm serve | check-config | match | --version | --help`.
int RunCli(int argc, char** argv, std::istream& in, std::ostream& out,
           std::ostream& err);

}  // namespace gralarm

#endif  // GRALARM_CLI_H_
