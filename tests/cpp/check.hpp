// A minimal test harness for losskit's C++ tests (no framework dependency: CI builds these
// from a bare compiler and CMake). Test cases register themselves with LOSSKIT_TEST; the CHECK
// macros record a failure (file:line, the expression and the values) and carry on; check_main.cpp
// runs every case, or those selected on the command line (by case name or by source file name
// without extension, e.g. test_optim), and exits with status 1 on a failure.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace losskit_test {

struct TestCase {
  const char* name;
  const char* file;  // the source file, by which a group of cases is selected
  void (*run)();
};
inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> cases;
  return cases;
}
struct Registration {
  Registration(const char* name, const char* file, void (*run)()) {
    registry().push_back({name, file, run});
  }
};

// Failures of the current case; only the first few are printed (a loop over many elements
// would otherwise bury the report).
struct Failures {
  long count = 0;
  static constexpr long kPrinted = 20;
};
inline Failures& failures() {
  static Failures f;
  return f;
}
inline void report(const char* file, int line, const std::string& what) {
  if (++failures().count <= Failures::kPrinted) std::fprintf(stderr, "%s:%d: %s\n", file, line, what.c_str());
}

// Names what the checks of a scope were about; printed once when any of them failed.
class Scope {
 public:
  explicit Scope(std::string what) : what_(std::move(what)), before_(failures().count) {}
  ~Scope() {
    if (failures().count > before_) std::fprintf(stderr, "  (in %s)\n", what_.c_str());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::string what_;
  long before_;
};

// |a - b| <= atol + rtol * max(|a|, |b|); NaN matches NaN, and an infinity only itself.
inline bool close(double a, double b, double rtol, double atol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= atol + rtol * std::fmax(std::fabs(a), std::fabs(b));
}

// Thrown by a case that cannot run here (e.g. the address space it needs is refused).
struct Skipped {
  const char* reason;
};

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline std::string show(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace losskit_test

#define LOSSKIT_TEST(name)                                                          \
  static void name();                                                               \
  static const losskit_test::Registration name##_registration(#name, __FILE__, &name); \
  static void name()

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) losskit_test::report(__FILE__, __LINE__, "CHECK(" #cond ") failed"); \
  } while (0)

// CHECK_CLOSE(actual, expected, rtol, atol, context): context is any std::string-convertible
// description printed with a failure (the loss, the element, ...).
#define CHECK_CLOSE(actual, expected, rtol, atol, context)                          \
  do {                                                                              \
    const double check_a_ = (actual), check_e_ = (expected);                        \
    if (!losskit_test::close(check_a_, check_e_, (rtol), (atol)))                   \
      losskit_test::report(__FILE__, __LINE__,                                      \
                           std::string(context) + ": " #actual " = " +              \
                               losskit_test::show(check_a_) + ", expected " +       \
                               losskit_test::show(check_e_));                       \
  } while (0)

#define CHECK_THROWS(expr, Exception)                                               \
  do {                                                                              \
    bool check_thrown_ = false;                                                     \
    try {                                                                           \
      (void)(expr);                                                                 \
    } catch (const Exception&) {                                                    \
      check_thrown_ = true;                                                         \
    }                                                                               \
    if (!check_thrown_)                                                             \
      losskit_test::report(__FILE__, __LINE__, #expr " did not throw " #Exception); \
  } while (0)
