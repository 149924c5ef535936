// gralarm: wiring only; see src/cli/commands.cc.
#include <iostream>

#include "gralarm/cli.h"

int main(int argc, char** argv) {
  return gralarm::RunCli(argc, argv, std::cin, std::cout, std::cerr);
}
