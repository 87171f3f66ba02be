// losskit::Optimizer<Rule, T>: an update rule (Sgd, Adam, Rmsprop, Adagrad of losskit/optim.hpp)
// with the state of one parameter array, as ensmallen's update policies hold theirs.
//
//   losskit::Optimizer<losskit::Adam, float> adam({.lr = 0.05}, params.size());
//   adam.step(params, grads);          // checks everything, then updates params and the state
//   auto saved = adam.save_state();    // PyTorch's state_dict for one parameter
//   adam.load_state(saved);
//
// The state is owned (allocated as the rule's state_layout() asks, when first needed) or
// borrowed: the caller's arrays, given as a State<T>. step() checks the rule's hyperparameters
// (check(rule)), the sizes, null pointers and overlaps (the parameter and the state arrays are
// written and must not overlap; the gradient may be exactly one of them) before it writes
// anything, and throws std::invalid_argument otherwise. The rule may be changed between steps
// (rule().lr for a schedule); state a changed rule needs is created as its layout says.
//
// Included by <losskit/losskit.hpp>.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "losskit/optim.hpp"
#include "losskit/span.hpp"

namespace losskit {

// An optimizer's state for one parameter, as values: what save_state() returns and
// load_state() takes. arrays[k] holds state StateName(k), or is empty where the rule keeps none
// (or, for a state taken from the first gradient, holds none yet).
template <class T> struct SavedState {
  std::int64_t steps = 0;  // steps taken (PyTorch's "step")
  std::array<std::vector<T>, kNumStateNames> arrays;
};

template <class Rule, class T> class Optimizer {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "losskit::Optimizer works on float or double");

 public:
  // Owned state for a parameter of `size` elements.
  Optimizer(const Rule& rule, std::size_t size) : rule_(rule), size_(size) { check(rule_); }
  // Borrowed state: the caller's arrays of `size` elements each (those state.fresh marks hold
  // no value yet), after `steps` steps.
  Optimizer(const Rule& rule, std::size_t size, const State<T>& state, std::int64_t steps = 0)
      : rule_(rule), size_(size), state_(state), borrowed_(true), steps_(steps) {
    check(rule_);
    if (steps < 0) throw std::invalid_argument("steps must be non-negative, got " + std::to_string(steps));
  }

  // Owned state lives in the object's own buffers: an optimizer moves, it is not copied (copy
  // its saved state instead).
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) noexcept = default;
  Optimizer& operator=(Optimizer&&) noexcept = default;

  Rule& rule() { return rule_; }
  const Rule& rule() const { return rule_; }
  std::size_t size() const { return size_; }
  std::int64_t steps() const { return steps_; }
  // The state array `name` (null where there is none yet).
  const T* state(StateName name) const { return state_[name]; }

  // One step on `param` with gradient `grad` (both of size()).
  void step(span<T> param, span<const T> grad) {
    check(rule_);
    expect_size("param", param.size(), param.data());
    expect_size("grad", grad.size(), grad.data());
    const StateLayout layout = rule_.state_layout();
    if (steps_ == std::numeric_limits<std::int64_t>::max()) throw std::invalid_argument("the step count would overflow");
    const std::size_t bytes = size_ * sizeof(T);
    struct Range {
      const char* name = nullptr;
      const char* begin = nullptr;
    };
    std::array<Range, kNumStateNames + 1> written;
    std::size_t count = 0;
    written[count++] = {"param", reinterpret_cast<const char*>(param.data())};
    for (int k = 0; k < kNumStateNames; ++k) {
      if (!layout.has(StateName(k))) continue;
      if (borrowed_ && !state_.arrays[k])
        throw std::invalid_argument(std::string("the rule needs state '") + state_name(StateName(k)) +
                                    "', which the borrowed state lacks");
      if (state_.arrays[k])
        written[count++] = {state_name(StateName(k)), reinterpret_cast<const char*>(state_.arrays[k])};
    }
    const std::less<const char*> before;
    const auto* g = reinterpret_cast<const char*>(grad.data());
    for (std::size_t i = 0; i < count && bytes; ++i) {
      for (std::size_t j = i + 1; j < count; ++j)
        if (before(written[i].begin, written[j].begin + bytes) &&
            before(written[j].begin, written[i].begin + bytes))
          throw std::invalid_argument(std::string(written[i].name) + " and " + written[j].name +
                                      " share memory");
      if (g != written[i].begin && before(g, written[i].begin + bytes) &&
          before(written[i].begin, g + bytes))
        throw std::invalid_argument(std::string("grad shares memory with ") + written[i].name +
                                    " without being exactly that array");
    }
    // Everything is checked: create the state the layout adds, then step.
    for (int k = 0; k < kNumStateNames; ++k) {
      const StateName name = StateName(k);
      if (!layout.has(name) || state_.arrays[k]) continue;
      owned_[k].assign(size_, T(layout.fill));
      state_.arrays[k] = owned_[k].data();
      if (layout.from_first_grad & state_bit(name)) state_.fresh |= state_bit(name);
    }
    losskit::step(rule_, steps_ + 1, param.data(), grad.data(), state_, size_);
    state_.fresh &= ~layout.used;
    ++steps_;
  }

  SavedState<T> save_state() const {
    SavedState<T> out;
    out.steps = steps_;
    for (int k = 0; k < kNumStateNames; ++k)
      if (state_.arrays[k] && !(state_.fresh & state_bit(StateName(k))))
        out.arrays[k].assign(state_.arrays[k], state_.arrays[k] + size_);
    return out;
  }

  // Replaces the state with `saved` (checked first: nothing changes on error). An empty array
  // starts afresh, as the rule's layout says.
  void load_state(const SavedState<T>& saved) {
    if (saved.steps < 0)
      throw std::invalid_argument("steps must be non-negative, got " + std::to_string(saved.steps));
    for (int k = 0; k < kNumStateNames; ++k) {
      const std::vector<T>& a = saved.arrays[k];
      if (!a.empty() && a.size() != size_)
        throw std::invalid_argument(std::string("state '") + state_name(StateName(k)) + "' has " +
                                    std::to_string(a.size()) + " elements, expected " +
                                    std::to_string(size_));
      if (!a.empty() && borrowed_ && !state_.arrays[k])
        throw std::invalid_argument(std::string("state '") + state_name(StateName(k)) +
                                    "' has no borrowed array to load into");
    }
    const StateLayout layout = rule_.state_layout();
    for (int k = 0; k < kNumStateNames; ++k) {
      const StateName name = StateName(k);
      const std::vector<T>& a = saved.arrays[k];
      if (!a.empty()) {
        if (!state_.arrays[k]) {
          owned_[k].resize(size_);
          state_.arrays[k] = owned_[k].data();
        }
        std::copy(a.begin(), a.end(), state_.arrays[k]);
        state_.fresh &= ~state_bit(name);
      } else if (state_.arrays[k]) {
        // Absent from the saved state: it starts again as the layout says.
        std::fill(state_.arrays[k], state_.arrays[k] + size_, T(layout.fill));
        if (layout.from_first_grad & state_bit(name)) state_.fresh |= state_bit(name);
      }
    }
    steps_ = saved.steps;
  }

 private:
  void expect_size(const char* name, std::size_t n, const void* data) const {
    if (n != size_)
      throw std::invalid_argument(std::string(name) + " has " + std::to_string(n) +
                                  " elements, expected " + std::to_string(size_));
    if (n && !data) throw std::invalid_argument(std::string(name) + " is null");
  }

  Rule rule_;
  std::size_t size_;
  State<T> state_;
  bool borrowed_ = false;
  std::int64_t steps_ = 0;
  std::array<std::vector<T>, kNumStateNames> owned_;
};

}  // namespace losskit
