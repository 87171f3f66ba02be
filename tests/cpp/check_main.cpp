// Runs the registered test cases (all, or those selected by the arguments: case names or
// source file names without extension) and reports each.
// Exit status: 0 all passed, 1 a failure, 77 (CTest's SKIP_RETURN_CODE) every case skipped.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "check.hpp"

namespace {

// "/path/test_optim.cpp" -> "test_optim"
std::string file_stem(const char* path) {
  std::string s(path);
  const std::size_t slash = s.find_last_of('/');
  if (slash != std::string::npos) s.erase(0, slash + 1);
  return s.substr(0, s.find('.'));
}

}  // namespace

int main(int argc, char** argv) {
  int failed = 0, ran = 0, skipped = 0;
  for (const losskit_test::TestCase& c : losskit_test::registry()) {
    bool selected = argc < 2;
    for (int i = 1; i < argc; ++i)
      selected = selected || argv[i] == std::string(c.name) || argv[i] == file_stem(c.file);
    if (!selected) continue;
    ++ran;
    losskit_test::failures().count = 0;
    try {
      c.run();
    } catch (const losskit_test::Skipped& s) {
      std::printf("[ SKIP ] %s: %s\n", c.name, s.reason);
      ++skipped;
      continue;
    } catch (const std::exception& e) {
      losskit_test::report(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    const long n = losskit_test::failures().count;
    std::printf("[ %s ] %s", n ? "FAIL" : " OK ", c.name);
    if (n) std::printf(" (%ld failed checks)", n);
    std::printf("\n");
    failed += n != 0;
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test case matched\n");
    return 1;
  }
  std::printf("%d cases, %d failed, %d skipped\n", ran, failed, skipped);
  if (failed) return 1;
  return skipped == ran ? 77 : 0;
}
