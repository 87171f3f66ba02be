// XLA FFI handlers over losskit's kernels, for losskit.jax: one handler per family of losses
// (elementwise, row-wise), called by jax.ffi.ffi_call with the loss, its parameters and what to
// compute as attributes. Compiled into losskit._core only where jaxlib's FFI headers are found
// (src/cpp/jax/CMakeLists.txt), so the handlers share the module's ISA and thread settings;
// _core.jax_ffi_handlers() hands them to Python as capsules.
//
// Batching: losskit.jax calls ffi_call with vmap_method="broadcast_all", so under jax.vmap every
// operand arrives with the same leading batch dimensions. The attribute `rank` is the rank of
// the unbatched input: the handler runs the kernel once per batch element (every operand and
// result is then a contiguous slice), so reductions stay per batch element.
#include "bindings.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "losskit/losskit.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace losskit::jax_ffi {

namespace {

// Which optional operands an elementwise call passes (attribute `operands`), in this order
// after input and target.
enum ElementwiseOperand : std::int64_t { kThird = 1, kFourth = 2, kSampleWeight = 4 };
// The same for row-wise calls, after the input.
enum RowwiseOperand : std::int64_t {
  kRowTarget = 1, kRowSecond = 2, kRowThird = 4, kRowSampleWeight = 8, kRowClassWeight = 16
};

LossParams loss_params(ffi::Span<const double> values) {
  LossParams p;
  if (values.size() > std::size_t(LossParams::kMax)) throw std::invalid_argument("too many loss parameters");
  for (std::size_t i = 0; i < values.size(); ++i) p.values[i] = values[i];
  return p;
}

// The number of batch elements: the product of the input's leading dimensions beyond `rank`.
std::size_t batch_count(const ffi::AnyBuffer& input, std::int64_t rank) {
  const auto dims = input.dimensions();
  if (rank < 0 || std::size_t(rank) > dims.size()) throw std::invalid_argument("bad rank attribute");
  std::size_t count = 1;
  for (std::size_t k = 0; k + std::size_t(rank) < dims.size(); ++k) count *= std::size_t(dims[k]);
  return count;
}

// Slice b of `count` equal slices of a buffer (nullptr where absent).
template <class T> const T* slice(const ffi::AnyBuffer* buffer, std::size_t b, std::size_t count) {
  if (!buffer) return nullptr;
  const std::size_t n = buffer->element_count() / count;
  return static_cast<const T*>(buffer->untyped_data()) + b * n;
}
template <class T> T* slice(ffi::Result<ffi::AnyBuffer>* buffer, std::size_t b, std::size_t count) {
  if (!buffer) return nullptr;
  const std::size_t n = (*buffer)->element_count() / count;
  return static_cast<T*>((*buffer)->untyped_data()) + b * n;
}
template <class T> span<const T> slice_span(const ffi::AnyBuffer* buffer, std::size_t b, std::size_t count) {
  if (!buffer) return {};
  return {slice<T>(buffer, b, count), buffer->element_count() / count};
}
template <class T> span<T> slice_span(ffi::Result<ffi::AnyBuffer>* buffer, std::size_t b, std::size_t count) {
  if (!buffer) return {};
  return {slice<T>(buffer, b, count), (*buffer)->element_count() / count};
}

// Runs `body`, turning losskit's refusals (the messages every front end shows) into FFI errors.
template <class Body> ffi::Error guarded(Body&& body) {
  try {
    body();
    return ffi::Error::Success();
  } catch (const std::invalid_argument& e) {
    return ffi::Error::InvalidArgument(e.what());
  } catch (const std::exception& e) {
    return ffi::Error::Internal(e.what());
  }
}

// The operands and results of one call, in the order losskit.jax passes them.
struct Operands {
  std::vector<ffi::AnyBuffer> args;
  std::vector<ffi::Result<ffi::AnyBuffer>> rets;
};

Operands collect(const ffi::RemainingArgs& args, const ffi::RemainingRets& rets) {
  Operands o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto a = args.get<ffi::AnyBuffer>(i);
    if (a.has_error()) throw std::invalid_argument("argument " + std::to_string(i) + " is not a buffer");
    o.args.push_back(*a);
  }
  for (std::size_t i = 0; i < rets.size(); ++i) {
    auto r = rets.get<ffi::AnyBuffer>(i);
    if (r.has_error()) throw std::invalid_argument("result " + std::to_string(i) + " is not a buffer");
    o.rets.push_back(*r);
  }
  return o;
}

// ---- elementwise: args input, target[, third][, fourth][, sample_weight]; results the value,
// then `grads` gradients (d/dinput, d/dthird, d/dfourth). Through the checked API: every
// argument with a domain is checked before anything is written, with losskit's messages.
template <class T>
void elementwise(ElementwiseLoss loss, const LossParams& params, Operands& o,
                 std::int64_t operands, Reduction reduction, std::int64_t grads,
                 std::int64_t rank, std::int64_t batch_size) {
  std::size_t next = 0;
  const ffi::AnyBuffer* input = &o.args.at(next++);
  const ffi::AnyBuffer* target = &o.args.at(next++);
  const ffi::AnyBuffer* third = operands & kThird ? &o.args.at(next++) : nullptr;
  const ffi::AnyBuffer* fourth = operands & kFourth ? &o.args.at(next++) : nullptr;
  const ffi::AnyBuffer* weight = operands & kSampleWeight ? &o.args.at(next++) : nullptr;
  std::vector<ffi::Result<ffi::AnyBuffer>>* rets = &o.rets;
  std::size_t r = 0;
  ffi::Result<ffi::AnyBuffer>* value_out = &rets->at(r++);
  ffi::Result<ffi::AnyBuffer>* grad_out[3] = {nullptr, nullptr, nullptr};
  for (std::int64_t g = 0; g < grads; ++g) grad_out[g] = &rets->at(r++);
  const std::size_t count = batch_count(*input, rank);
  for (std::size_t b = 0; b < count; ++b) {
    ElementwiseArrays<T> a;
    a.input = slice_span<T>(input, b, count);
    a.target = slice_span<T>(target, b, count);
    a.third = slice_span<T>(third, b, count);
    a.fourth = slice_span<T>(fourth, b, count);
    a.sample_weight = slice_span<T>(weight, b, count);
    a.reduction = reduction;
    a.batch_size = std::size_t(batch_size);
    if (reduction == Reduction::none) a.values = slice_span<T>(value_out, b, count);
    a.grad = slice_span<T>(grad_out[0], b, count);
    a.grad_third = slice_span<T>(grad_out[1], b, count);
    a.grad_fourth = slice_span<T>(grad_out[2], b, count);
    const double v = evaluate_checked(loss, params, a);
    if (reduction != Reduction::none) *slice<T>(value_out, b, count) = T(v);
  }
}

ffi::Error elementwise_handler(ffi::RemainingArgs args, ffi::RemainingRets rets, std::int64_t loss,
                               ffi::Span<const double> params, std::int64_t operands,
                               std::int64_t reduction, std::int64_t grads, std::int64_t rank,
                               std::int64_t batch_size) {
  return guarded([&] {
    if (loss < 0 || loss >= kNumElementwiseLosses || grads < 0 || grads > 3)
      throw std::invalid_argument("bad loss or grads attribute");
    Operands o = collect(args, rets);
    const auto id = static_cast<ElementwiseLoss>(loss);
    const auto r = static_cast<Reduction>(reduction);
    switch (o.args.at(0).element_type()) {
      case ffi::DataType::F32:
        return elementwise<float>(id, loss_params(params), o, operands, r, grads, rank, batch_size);
      case ffi::DataType::F64:
        return elementwise<double>(id, loss_params(params), o, operands, r, grads, rank, batch_size);
      default: throw std::invalid_argument("input must be float32 or float64");
    }
  });
}

// ---- row-wise: args input[, target][, second][, third][, sample_weight][, class_weight];
// results the value, then `grads` gradients (d/dinput, d/dsecond, d/dthird). Through the
// descriptor API (the checked one has no row operands or positions): the shapes were checked
// when the call was traced, the kernel checks the labels, targets and weights before writing.
std::string index_text(const std::vector<std::size_t>& shape, std::size_t flat) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t k = shape.size(); k-- > 0;) {
    index[k] = shape[k] ? flat % shape[k] : 0;
    flat = shape[k] ? flat / shape[k] : 0;
  }
  std::string out = "[";
  for (std::size_t k = 0; k < index.size(); ++k) out += (k ? ", " : "") + std::to_string(index[k]);
  return out + "]";
}

template <class T>
void rowwise(RowwiseLoss loss, const LossParams& params, Operands& o, std::int64_t operands,
             Reduction reduction, std::int64_t grads, std::int64_t rank,
             std::int64_t ignore_index) {
  const LossInfo& info = losskit::info(loss);
  std::size_t next = 0;
  const ffi::AnyBuffer* input = &o.args.at(next++);
  const ffi::AnyBuffer* target = operands & kRowTarget ? &o.args.at(next++) : nullptr;
  const ffi::AnyBuffer* second = operands & kRowSecond ? &o.args.at(next++) : nullptr;
  const ffi::AnyBuffer* third = operands & kRowThird ? &o.args.at(next++) : nullptr;
  const ffi::AnyBuffer* weight = operands & kRowSampleWeight ? &o.args.at(next++) : nullptr;
  const ffi::AnyBuffer* class_weight = operands & kRowClassWeight ? &o.args.at(next++) : nullptr;
  std::vector<ffi::Result<ffi::AnyBuffer>>* rets = &o.rets;
  std::size_t r = 0;
  ffi::Result<ffi::AnyBuffer>* value_out = &rets->at(r++);
  ffi::Result<ffi::AnyBuffer>* grad_out[3] = {nullptr, nullptr, nullptr};
  for (std::int64_t g = 0; g < grads; ++g) grad_out[g] = &rets->at(r++);

  if (rank < 2) throw std::invalid_argument("row-wise input needs rank >= 2");
  const std::size_t count = batch_count(*input, rank);  // (checks rank <= the input's rank)
  const auto dims = input->dimensions();
  const std::size_t lead = dims.size() - std::size_t(rank);
  const std::size_t rows = std::size_t(dims[lead]), classes = std::size_t(dims[lead + 1]);
  std::size_t positions = 1;
  for (std::size_t k = lead + 2; k < dims.size(); ++k) positions *= std::size_t(dims[k]);
  const auto target_type = target ? target->element_type() : ffi::DataType::INVALID;
  const bool labels = target_type == ffi::DataType::S64 || target_type == ffi::DataType::S32;
  // int32 labels (JAX's integers without jax_enable_x64) are widened for the kernel.
  std::vector<std::int64_t> widened;
  if (target_type == ffi::DataType::S32) {
    const auto* p = static_cast<const std::int32_t*>(target->untyped_data());
    widened.assign(p, p + target->element_count());
  }
  for (std::size_t b = 0; b < count; ++b) {
    RowwiseCall<T> c;
    c.input = slice<T>(input, b, count);
    c.rows = rows;
    c.classes = classes;
    c.positions = positions;
    if (labels) {
      c.labels = widened.empty() ? slice<std::int64_t>(target, b, count)
                                 : widened.data() + b * (widened.size() / count);
    } else {
      c.target = slice<T>(target, b, count);
    }
    c.second = slice<T>(second, b, count);
    c.third = slice<T>(third, b, count);
    c.ignore_index = ignore_index;
    c.class_weight = slice<T>(class_weight, b, count);
    c.sample_weight = slice<T>(weight, b, count);
    c.reduction = reduction;
    if (reduction == Reduction::none) c.value_out = slice<T>(value_out, b, count);
    c.grad_out = slice<T>(grad_out[0], b, count);
    c.grad_second_out = slice<T>(grad_out[1], b, count);
    c.grad_third_out = slice<T>(grad_out[2], b, count);
    const ElementwiseResult result = evaluate(loss, params, c);
    const std::size_t i = result.bad_index;
    if (result.bad_argument == BadArgument::sample_weight) {
      throw std::invalid_argument("sample_weight must be non-negative, got sample_weight[" +
                                  std::to_string(i) + "] = " + format_real(double(c.sample_weight[i])));
    }
    if (result.bad_argument == BadArgument::target) {
      if (!labels)
        throw std::invalid_argument("target must be 1 or -1 for " + std::string(info.name) +
                                    ", got target[" + std::to_string(i) + "] = " +
                                    format_real(double(c.target[i])));
      std::vector<std::size_t> shape;
      const auto target_dims = target->dimensions();
      for (std::size_t k = lead; k < target_dims.size(); ++k) shape.push_back(std::size_t(target_dims[k]));
      std::string message = "target" + index_text(shape, i) + " = " + std::to_string(c.labels[i]) +
                            " is not a class index in [0, " + std::to_string(classes) + ")";
      for (int p = 0; p < info.num_params; ++p)
        if (info.params[p].kind == ParamKind::ignore_index)
          message += " or ignore_index (" + std::to_string(ignore_index) + ")";
      if (info.row_target == RowTarget::label_lists) message += " (a negative entry ends a row's labels)";
      throw std::invalid_argument(message);
    }
    if (reduction != Reduction::none) *slice<T>(value_out, b, count) = T(result.value);
  }
}

ffi::Error rowwise_handler(ffi::RemainingArgs args, ffi::RemainingRets rets, std::int64_t loss,
                           ffi::Span<const double> params, std::int64_t operands,
                           std::int64_t reduction, std::int64_t grads, std::int64_t rank,
                           std::int64_t ignore_index) {
  return guarded([&] {
    if (loss < 0 || loss >= kNumRowwiseLosses || grads < 0 || grads > 3)
      throw std::invalid_argument("bad loss or grads attribute");
    Operands o = collect(args, rets);
    const auto id = static_cast<RowwiseLoss>(loss);
    const auto r = static_cast<Reduction>(reduction);
    switch (o.args.at(0).element_type()) {
      case ffi::DataType::F32:
        return rowwise<float>(id, loss_params(params), o, operands, r, grads, rank, ignore_index);
      case ffi::DataType::F64:
        return rowwise<double>(id, loss_params(params), o, operands, r, grads, rank, ignore_index);
      default: throw std::invalid_argument("input must be float32 or float64");
    }
  });
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(LosskitElementwise, elementwise_handler,
                              ffi::Ffi::Bind()
                                  .RemainingArgs()
                                  .RemainingRets()
                                  .Attr<std::int64_t>("loss")
                                  .Attr<ffi::Span<const double>>("params")
                                  .Attr<std::int64_t>("operands")
                                  .Attr<std::int64_t>("reduction")
                                  .Attr<std::int64_t>("grads")
                                  .Attr<std::int64_t>("rank")
                                  .Attr<std::int64_t>("batch_size"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(LosskitRowwise, rowwise_handler,
                              ffi::Ffi::Bind()
                                  .RemainingArgs()
                                  .RemainingRets()
                                  .Attr<std::int64_t>("loss")
                                  .Attr<ffi::Span<const double>>("params")
                                  .Attr<std::int64_t>("operands")
                                  .Attr<std::int64_t>("reduction")
                                  .Attr<std::int64_t>("grads")
                                  .Attr<std::int64_t>("rank")
                                  .Attr<std::int64_t>("ignore_index"));

}  // namespace losskit::jax_ffi

namespace losskit::bindings {

void bind_jax_ffi(py::module_& m) {
  m.def("jax_ffi_handlers", [] {
    py::dict out;
    out["losskit_elementwise"] = py::capsule(reinterpret_cast<void*>(&jax_ffi::LosskitElementwise));
    out["losskit_rowwise"] = py::capsule(reinterpret_cast<void*>(&jax_ffi::LosskitRowwise));
    return out;
  }, "The XLA FFI handlers by target name, as capsules for jax.ffi.register_ffi_target.");
}

}  // namespace losskit::bindings
