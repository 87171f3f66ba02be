// losskit::span<T>: a pointer and a count, what every array argument of the typed API is.
//
// The public headers stay C++17, so this is a small span of its own (std::span is C++20). It
// converts implicitly from anything with data() and size() whose elements are T (std::vector,
// std::array, std::span, Eigen's vectors, another losskit::span), from a C array, and from a
// span<U> where U* converts to T* (span<float> to span<const float>). A default-constructed span
// is empty: for an optional argument it means "not given".
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace losskit {

template <class T> class span {
  template <class C>
  using data_of = decltype(std::declval<C&>().data());
  // A container whose data() points to elements that are T, up to const.
  template <class C, class = void> struct is_container : std::false_type {};
  template <class C>
  struct is_container<C, std::void_t<data_of<C>, decltype(std::declval<C&>().size())>>
      : std::bool_constant<std::is_convertible_v<data_of<C>, T*> &&
                           std::is_same_v<std::remove_cv_t<std::remove_pointer_t<data_of<C>>>,
                                          std::remove_cv_t<T>>> {};

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;

  constexpr span() noexcept = default;
  constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <std::size_t N> constexpr span(T (&array)[N]) noexcept : data_(array), size_(N) {}
  template <class C, class = std::enable_if_t<is_container<C>::value && !std::is_array_v<C>>>
  constexpr span(C& container) noexcept(noexcept(container.data()))
      : data_(container.data()), size_(std::size_t(container.size())) {}
  template <class C, class = std::enable_if_t<is_container<const C>::value && !std::is_array_v<C>>>
  constexpr span(const C& container) noexcept(noexcept(container.data()))
      : data_(container.data()), size_(std::size_t(container.size())) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  // The elements [offset, offset + count).
  constexpr span subspan(std::size_t offset, std::size_t count) const noexcept {
    return span(data_ + offset, count);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace losskit
