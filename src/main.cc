// gralarm: wiring only; see src/cli/commands.cc.
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "gralarm/cli.h"

int main(int argc, char** argv) {
  // Debian's abseil checks every Mutex acquisition for lock-order cycles
  // (a debugging aid that showed up in profiles of the ingest path); the
  // tests keep it, the server does without.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return gralarm::RunCli(argc, argv, std::cin, std::cout, std::cerr);
}
