// Writes the public headers that follow from the loss definitions (run by the build, from the
// definitions' own lists in losskit/definitions/all.hpp):
//   losskit/loss_ids.hpp         the enums ElementwiseLoss and RowwiseLoss;
//   losskit/loss_objects.hpp     one typed object per loss: its parameters as named members with
//                                their defaults, its reduction, and the member functions of its
//                                family (losskit/loss_methods.hpp);
//   losskit/point_functions.hpp  the per-point functions of every elementwise loss (value,
//                                gradient, both, gradient and curvature), over losskit/point.hpp;
//   point.pxd                    their Cython declarations (the Python package's losskit/point.pxd).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "losskit/definitions/all.hpp"

namespace {

using losskit::LossInfo;
using losskit::ParamInfo;
using losskit::ParamKind;

std::string enumeration(const char* type, const char* count, const std::vector<const LossInfo*>& infos) {
  std::string out = std::string("enum class ") + type + " : int {\n";
  for (const LossInfo* d : infos) out += std::string("  ") + d->name + ",\n";
  out += "};\ninline constexpr int " + std::string(count) + " = " + std::to_string(infos.size()) +
         ";\n";
  return out;
}

std::vector<std::string> split(const char* list) {
  std::vector<std::string> out;
  std::string item;
  for (const char* p = list;; ++p) {
    if (*p == ',' || !*p) {
      if (!item.empty()) out.push_back(item);
      item.clear();
      if (!*p) break;
    } else {
      item += *p;
    }
  }
  return out;
}

// A double as a C++ literal that reads as the definition wrote it (1.0, 1e-06, 0.5).
std::string literal(double v) {
  if (std::isinf(v)) return v > 0 ? "kInf" : "-kInf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// "HuberLoss" -> "Huber": the typed object is the loss itself (losskit::Huber, losskit::MSE).
std::string object_name(const LossInfo& d) {
  std::string name = d.class_name;
  const std::string suffix = "Loss";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
  return name;
}

// A parameter's member name: its own, with "_" appended where that is a C++ keyword or a name
// the object already uses (its member functions and constants).
std::string member_name(const ParamInfo& p) {
  static const char* const taken[] = {
      "auto", "bool", "case", "char", "class", "const", "default", "delete", "do", "double",
      "else", "enum", "explicit", "false", "float", "for", "friend", "if", "int", "long",
      "namespace", "new", "not", "operator", "or", "private", "public", "register", "return",
      "short", "signed", "sizeof", "static", "struct", "switch", "template", "this", "true",
      "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "while",
      "value", "grad", "value_and_grad", "value_and_grads", "grad_hess", "reduction", "id",
      "arity", "training_hessian", "kernel_params", "class_weight", "ignored_label"};
  for (const char* t : taken)
    if (std::string(p.name) == t) return std::string(p.name) + "_";
  return p.name;
}

// "param" -> "Param": the enum of a choice parameter.
std::string choice_type(const ParamInfo& p) {
  std::string out;
  bool upper = true;
  for (const char* c = p.name; *c; ++c) {
    if (*c == '_') {
      upper = true;
      continue;
    }
    out += upper && *c >= 'a' && *c <= 'z' ? char(*c - 'a' + 'A') : *c;
    upper = false;
  }
  return out;
}

std::string comment(const std::string& text, const std::string& indent) {
  std::string out = indent + "// ";
  for (char c : text) {
    if (c == '\n') out += "\n" + indent + "// ";
    else out += c;
  }
  return out + "\n";
}

// The struct of one loss.
std::string object(const LossInfo& d) {
  const bool rowwise = d.family == losskit::LossFamily::rowwise;
  const std::string name = object_name(d);
  std::string out = comment(std::string(d.name) + ": " + d.summary, "");
  out += comment(std::string("  ") + d.formula, "");
  out += "struct " + name + " {\n";
  std::string kernel_values;
  bool class_weight = false, ignore_index = false;
  for (int i = 0; i < d.num_params; ++i) {
    const ParamInfo& p = d.params[i];
    const std::string field = member_name(p);
    std::string member;
    std::string value;  // its LossParams value
    switch (p.kind) {
      case ParamKind::real:
        member = "double " + field + " = " + literal(p.default_value);
        value = field;
        break;
      case ParamKind::integer:
        member = "std::int64_t " + field + " = " +
                 std::to_string(static_cast<long long>(p.default_value));
        value = "double(" + field + ")";
        break;
      case ParamKind::boolean:
        member = "bool " + field + " = " + (p.default_value != 0 ? "true" : "false");
        value = "double(" + field + ")";
        break;
      case ParamKind::choice: {
        const std::string type = choice_type(p);
        const std::vector<std::string> choices = split(p.choices);
        out += "  enum class " + type + " : int {";
        for (std::size_t k = 0; k < choices.size(); ++k)
          out += (k ? ", " : " ") + choices[k];
        out += " };\n";
        member = type + " " + field + " = " + type + "::" + choices.front();
        value = "double(int(" + field + "))";
        break;
      }
      case ParamKind::class_weight:
        member = "std::vector<double> " + field;
        class_weight = true;
        break;
      case ParamKind::ignore_index:
        member = "std::int64_t " + field + " = " +
                 std::to_string(static_cast<long long>(p.default_value));
        ignore_index = true;
        break;
    }
    out += comment(p.doc, "  ");
    out += "  " + member + ";\n";
    if (!value.empty()) kernel_values += (kernel_values.empty() ? "" : ", ") + value;
  }
  const std::vector<std::string> reductions = split(d.reductions);
  std::string offered = reductions.front() + " (the default)";
  for (std::size_t k = 1; k < reductions.size(); ++k)
    offered += (k + 1 == reductions.size() ? " or " : ", ") + reductions[k];
  out += "  // " + offered + ".\n";
  out += "  Reduction reduction = Reduction::" + split(d.reductions).front() + ";\n\n";
  out += std::string("  static constexpr ") + (rowwise ? "RowwiseLoss" : "ElementwiseLoss") +
         " id = " + (rowwise ? "RowwiseLoss::" : "ElementwiseLoss::") + d.name + ";\n";
  if (!rowwise) out += "  static constexpr int arity = " + std::to_string(d.arity) + ";\n";
  out += "  // The Hessian policy to train with (the first LossInfo::hessians offers).\n";
  out += "  static constexpr Hessian training_hessian = Hessian::" + split(d.hessians).front() +
         ";\n";
  out += "  LossParams kernel_params() const { return {{" + kernel_values + "}}; }\n";
  if (rowwise) {
    out += std::string("  span<const double> class_weight() const { return ") +
           (class_weight ? "weight" : "{}") + "; }\n";
    out += std::string("  std::int64_t ignored_label() const { return ") +
           (ignore_index ? "ignore_index" : "-100") + "; }\n";
    switch (d.row_target) {
      case losskit::RowTarget::labels:
        out += "  LOSSKIT_ROWWISE_METHODS\n";
        if (d.probability_targets) out += "  LOSSKIT_ROWWISE_PROBABILITY_METHODS\n";
        break;
      case losskit::RowTarget::label_lists: out += "  LOSSKIT_ROWWISE_METHODS\n"; break;
      case losskit::RowTarget::values: out += "  LOSSKIT_ROWWISE_PROBABILITY_METHODS\n"; break;
      case losskit::RowTarget::signs: out += "  LOSSKIT_ROWWISE_PAIR_METHODS\n"; break;
      case losskit::RowTarget::none: out += "  LOSSKIT_ROWWISE_TRIPLET_METHODS\n"; break;
    }
  } else if (d.arity == 2) {
    out += "  LOSSKIT_ELEMENTWISE_METHODS\n";
  } else {
    const std::vector<std::string> operands = split(d.operands);
    if (d.arity == 3) {
      out += std::string(d.third_position == 1 ? "  LOSSKIT_ELEMENTWISE3_BEFORE_TARGET_METHODS("
                                                : "  LOSSKIT_ELEMENTWISE3_METHODS(") +
             operands.at(0) + ")\n";
    } else {
      out += "  LOSSKIT_ELEMENTWISE_METHODS\n";
      out += "  LOSSKIT_ELEMENTWISE4_METHODS(" + operands.at(0) + ", " + operands.at(1) + ")\n";
    }
  }
  out += "};\n\n";
  return out;
}

// ---- per-point functions (losskit/point_functions.hpp) and their Cython declarations ----------

// One argument of a per-point function: a C++ and a Cython declaration, and the expression that
// passes it on (to LossParams or as an operand).
struct PointArgument {
  std::string name, cpp_type, cython_type, default_value;  // default_value "" for data
  bool operand = false;  // passed to the definition per point (data, or arity-4 parameters)
};

// Python keywords and Cython's own words cannot name a Cython argument.
std::string argument_name(const ParamInfo& p) {
  static const char* const taken[] = {"and", "as", "cdef", "def", "del", "from", "global", "in",
                                      "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
                                      "with", "yield", "ctypedef", "cpdef", "extern", "nogil"};
  std::string name = member_name(p);
  for (const char* t : taken)
    if (name == t) return name + "_";
  return name;
}

// The per-point arguments of an elementwise loss in the Python call's order: its data (input,
// target and, for arity 3, the third argument where the definition puts it), then its
// parameters with their defaults. An arity-4 loss takes its parameters per point (Barron's
// alpha and scale are both parameters and per-element operands).
std::vector<PointArgument> point_arguments(const LossInfo& d, const std::string& t) {
  std::vector<PointArgument> data = {{d.input_name, t, t, "", true}, {"target", t, t, "", true}};
  const std::vector<std::string> operands = split(d.operands);
  if (d.arity == 3) {
    PointArgument third{operands.at(0), t, t, "", true};
    data.insert(data.begin() + d.third_position, third);
  }
  for (int i = 0; i < d.num_params; ++i) {
    const ParamInfo& p = d.params[i];
    PointArgument a;
    a.name = argument_name(p);
    switch (p.kind) {
      case ParamKind::real:
        a.cpp_type = a.cython_type = d.arity == 4 ? t : "double";
        a.default_value = literal(p.default_value);
        a.operand = d.arity == 4;
        break;
      case ParamKind::integer:
        a.cpp_type = "std::int64_t";
        a.cython_type = "int64_t";
        a.default_value = std::to_string(static_cast<long long>(p.default_value));
        break;
      case ParamKind::boolean:
        a.cpp_type = "bool";
        a.cython_type = "bint";
        a.default_value = p.default_value != 0 ? "true" : "false";
        break;
      case ParamKind::choice:
        a.cpp_type = a.cython_type = "int";
        a.default_value = "0";
        break;
      default:  // class weights and ignore_index belong to row-wise losses
        std::fprintf(stderr, "%s: parameter %s has no per-point form\n", d.name, p.name);
        std::exit(1);
    }
    data.push_back(a);
  }
  return data;
}

bool offers_irls(const LossInfo& d) {
  for (const std::string& h : split(d.hessians))
    if (h == "irls") return true;
  return false;
}

// "BarronGradients": the struct of an arity-3/4 loss's value and every gradient.
std::string gradients_struct(const LossInfo& d) { return object_name(d) + "Gradients"; }

// The gradient members of an arity-3/4 loss beyond d/dinput, in operand order.
std::vector<std::string> extra_gradients(const LossInfo& d) {
  std::vector<std::string> out;
  for (const std::string& o : split(d.operands)) out.push_back("gradient_" + o);
  return out;
}

// definitions: the C++ struct of each elementwise definition (scalar::HuberLoss), by index.
std::string point_functions(const std::vector<const LossInfo*>& elementwise,
                            const std::vector<std::string>& definitions) {
  std::string out =
      "// Generated by the build from src/cpp/include/losskit/definitions/: do not edit.\n"
      "// The per-point functions of every elementwise loss; include losskit/point.hpp, which\n"
      "// documents them.\n"
      "#pragma once\n\n#include <cstdint>\n\n#include \"losskit/point.hpp\"\n\n"
      "namespace losskit::point {\n\n";
  std::string two, more;  // the list macro's entries
  for (std::size_t k = 0; k < elementwise.size(); ++k) {
    const LossInfo& d = *elementwise[k];
    if (!d.class_name) continue;
    const std::string definition = "scalar::" + definitions[k];
    out += comment(std::string(d.name) + ": " + d.summary, "");
    out += comment(std::string("  ") + d.formula, "");
    if (d.arity > 2) {
      out += "template <class T> struct " + gradients_struct(d) + " {\n  T value, gradient";
      for (const std::string& g : extra_gradients(d)) out += ", " + g;
      out += ";\n};\n";
    }
    for (const char* t : {"float", "double"}) {
      const std::vector<PointArgument> args = point_arguments(d, t);
      std::string signature, params, operands;
      for (const PointArgument& a : args) {
        signature += (signature.empty() ? "" : ", ") + a.cpp_type + " " + a.name +
                     (a.default_value.empty() ? "" : " = " + a.default_value);
        if (a.operand && a.name != d.input_name && a.name != "target")
          operands += ", " + a.name;  // the definition's order: (input, target, operands...)
        else if (!a.operand)
          params += (params.empty() ? "" : ", ") + (a.cpp_type == "double" ? a.name : "double(" + a.name + ")");
      }
      // An arity-4 loss's parameters arrive per point; its LossParams keep the defaults.
      if (d.arity == 4)
        for (int i = 0; i < d.num_params; ++i)
          params += (params.empty() ? "" : ", ") + literal(d.params[i].default_value);
      auto body = [&](bool extra) {
        return std::string("detail::at<") + definition + ", " + (extra ? "true" : "false") +
               ">(LossParams{{" + params + "}}, " + d.input_name + ", target" + operands + ")";
      };
      const std::string T = t;
      const std::string head = "LOSSKIT_INLINE ";
      const std::string n = d.name;
      out += head + T + " " + n + "_value(" + signature + ") {\n  return " + body(false) +
             ".value[0];\n}\n";
      out += head + T + " " + n + "_gradient(" + signature + ") {\n  return " + body(false) +
             ".grad[0];\n}\n";
      out += head + "ValueGrad<" + T + "> " + n + "_value_gradient(" + signature +
             ") {\n  const auto p = " + body(false) + ";\n  return {p.value[0], p.grad[0]};\n}\n";
      out += head + "GradHess<" + T + "> " + n + "_gradient_hessian(" + signature +
             ") {\n  const auto p = " + body(false) +
             ";\n  return {p.grad[0], scalar::curvature<Hessian::exact>(p)[0]};\n}\n";
      if (offers_irls(d))
        out += head + "GradHess<" + T + "> " + n + "_gradient_irls(" + signature +
               ") {\n  const auto p = " + body(false) +
               ";\n  return {p.grad[0], scalar::curvature<Hessian::irls>(p)[0]};\n}\n";
      if (d.arity > 2) {
        out += head + gradients_struct(d) + "<" + T + "> " + n + "_value_gradients(" +
               signature + ") {\n  const auto p = " + body(true) +
               ";\n  return {p.value[0], p.grad[0], p.grad_third[0]" +
               (d.arity == 4 ? ", p.grad_fourth[0]" : "") + "};\n}\n";
      }
    }
    out += "\n";
    if (d.arity == 2) two += " X(" + std::string(d.name) + ", " + object_name(d) + ")";
    else more += " XN(" + std::string(d.name) + ", " + object_name(d) + ")";
  }
  return out + "}  // namespace losskit::point\n\n"
               "// Every loss with per-point functions, for generic code: X(name, Object) for\n"
               "// those of two arguments, XN(name, Object) for those of three or four.\n"
               "#define LOSSKIT_POINT_LOSSES(X, XN)" + two + more + "\n";
}

std::string point_pxd(const std::vector<const LossInfo*>& elementwise) {
  std::string out =
      "# Generated by the build from src/cpp/include/losskit/definitions/: do not edit.\n"
      "#\n"
      "# The per-point functions of every elementwise loss, compiled inline from the C++\n"
      "# definitions the array kernels use (losskit/point.hpp; the include directory is\n"
      "# losskit.get_include()). Each loss has, in float and double:\n"
      "#   <name>_value, <name>_gradient (d/dinput), <name>_value_gradient (ValueGrad),\n"
      "#   <name>_gradient_hessian (GradHess: the exact second derivative), <name>_gradient_irls\n"
      "#   (GradHess: the quadratic majorizer's curvature, where the loss offers it) and, for\n"
      "#   losses of three or four arguments, <name>_value_gradients (value and every gradient).\n"
      "# Values are per element, unweighted; parameters are not checked (pass them inside the\n"
      "# domains losskit's classes document). Choice parameters are indices into their choices.\n"
      "from libc.stdint cimport int64_t\n\n"
      "cdef extern from \"losskit/point.hpp\" namespace \"losskit::point\" nogil:\n"
      "    cdef cppclass ValueGrad[T]:\n        T value\n        T gradient\n"
      "    cdef cppclass GradHess[T]:\n        T gradient\n        T hessian\n";
  for (const LossInfo* dp : elementwise) {
    const LossInfo& d = *dp;
    if (!d.class_name) continue;
    out += "\n    # " + std::string(d.name) + " (" + d.class_name + "): " + d.formula + "\n";
    for (int i = 0; i < d.num_params; ++i)
      if (d.params[i].kind == ParamKind::choice)
        out += "    #   " + std::string(d.params[i].name) + ": " + d.params[i].choices +
               " (0, 1, ...)\n";
    if (d.arity > 2) {
      out += "    cdef cppclass " + gradients_struct(d) + "[T]:\n        T value\n        T gradient\n";
      for (const std::string& g : extra_gradients(d)) out += "        T " + g + "\n";
    }
    // Cython gives extern functions no default arguments: one overload per number of trailing
    // parameters left to the C++ defaults.
    for (const char* t : {"double", "float"}) {
      const std::string T = t;
      const std::vector<PointArgument> args = point_arguments(d, t);
      std::size_t required = 0;
      while (required < args.size() && args[required].default_value.empty()) ++required;
      for (std::size_t count = required; count <= args.size(); ++count) {
        std::string signature;
        for (std::size_t k = 0; k < count; ++k)
          signature += (k ? ", " : "") + args[k].cython_type + " " + args[k].name;
        const std::string n = d.name;
        out += "    " + T + " " + n + "_value(" + signature + ") noexcept\n";
        out += "    " + T + " " + n + "_gradient(" + signature + ") noexcept\n";
        out += "    ValueGrad[" + T + "] " + n + "_value_gradient(" + signature + ") noexcept\n";
        out += "    GradHess[" + T + "] " + n + "_gradient_hessian(" + signature + ") noexcept\n";
        if (offers_irls(d))
          out += "    GradHess[" + T + "] " + n + "_gradient_irls(" + signature + ") noexcept\n";
        if (d.arity > 2)
          out += "    " + gradients_struct(d) + "[" + T + "] " + n + "_value_gradients(" +
                 signature + ") noexcept\n";
      }
    }
  }
  return out;
}

// Writes `text` unless the file already holds it: an unchanged header keeps its time stamp, so
// what includes it is not rebuilt.
bool write(const std::string& path, const std::string& text) {
  if (std::FILE* old = std::fopen(path.c_str(), "rb")) {
    std::string current;
    char buf[4096];
    for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, old)) > 0;) current.append(buf, got);
    std::fclose(old);
    if (current == text) return true;
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f || std::fputs(text.c_str(), f) < 0 || std::fclose(f) != 0) {
    std::perror(path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: %s HEADER_DIRECTORY PXD_DIRECTORY (receive loss_ids.hpp, "
                 "loss_objects.hpp, point_functions.hpp; point.pxd)\n",
                 argv[0]);
    return 2;
  }
  using namespace losskit::LOSSKIT_ISA;
#define LOSSKIT_INFO_ENTRY(Definition) &Definition<double>::kInfo,
  const std::vector<const LossInfo*> elementwise = {LOSSKIT_ELEMENTWISE_DEFINITIONS(LOSSKIT_INFO_ENTRY)};
  const std::vector<const LossInfo*> rowwise = {LOSSKIT_ROWWISE_DEFINITIONS(LOSSKIT_INFO_ENTRY)};
#undef LOSSKIT_INFO_ENTRY
#define LOSSKIT_DEFINITION_NAME(Definition) #Definition,
  const std::vector<std::string> definitions = {LOSSKIT_ELEMENTWISE_DEFINITIONS(LOSSKIT_DEFINITION_NAME)};
#undef LOSSKIT_DEFINITION_NAME
  const std::string ids =
      "// Generated by the build from src/cpp/include/losskit/definitions/: do not edit.\n"
      "// The losses, in the order of their definitions; losskit::info() describes each.\n"
      "#pragma once\n\nnamespace losskit {\n\n" +
      enumeration("ElementwiseLoss", "kNumElementwiseLosses", elementwise) + "\n" +
      enumeration("RowwiseLoss", "kNumRowwiseLosses", rowwise) + "\n}  // namespace losskit\n";
  std::string objects =
      "// Generated by the build from src/cpp/include/losskit/definitions/: do not edit.\n"
      "// One typed object per loss: the parameters as named members with the definition's\n"
      "// defaults (losskit::Huber{.delta = 0.5} in C++20, or set the members), the reduction, and\n"
      "// the member functions of its family, documented in losskit/loss_methods.hpp. Every call\n"
      "// checks the parameters against their domains (losskit::info(id)) and the arrays, and\n"
      "// throws std::invalid_argument before writing anything.\n"
      "#pragma once\n\n#include <cstdint>\n#include <vector>\n\n#include \"losskit/loss_methods.hpp\"\n\n"
      "namespace losskit {\n\n";
  // Internal kernels (no class name) serve a front end's variant of a loss; they get no object.
  std::string elementwise_list, rowwise_list;
  for (const LossInfo* d : elementwise)
    if (d->class_name) {
      objects += object(*d);
      elementwise_list += " X(" + object_name(*d) + ")";
    }
  for (const LossInfo* d : rowwise)
    if (d->class_name) {
      objects += object(*d);
      rowwise_list += " X(" + object_name(*d) + ")";
    }
  objects += "}  // namespace losskit\n\n"
             "// Every typed object, for code generic over losses: X(Name) per loss.\n"
             "#define LOSSKIT_ELEMENTWISE_OBJECTS(X)" + elementwise_list + "\n"
             "#define LOSSKIT_ROWWISE_OBJECTS(X)" + rowwise_list + "\n";
  const std::string dir = argv[1];
  return write(dir + "/loss_ids.hpp", ids) && write(dir + "/loss_objects.hpp", objects) &&
                 write(dir + "/point_functions.hpp", point_functions(elementwise, definitions)) &&
                 write(std::string(argv[2]) + "/point.pxd", point_pxd(elementwise))
             ? 0
             : 1;
}
