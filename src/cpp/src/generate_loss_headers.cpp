// Writes the public headers that follow from the loss definitions (run by the build, from the
// definitions' own lists in per_isa/definitions/all.hpp):
//   losskit/loss_ids.hpp      the enums ElementwiseLoss and RowwiseLoss;
//   losskit/loss_objects.hpp  one typed object per loss: its parameters as named members with
//                             their defaults, its reduction, and the member functions of its
//                             family (losskit/loss_methods.hpp).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "definitions/all.hpp"

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
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIRECTORY (receives loss_ids.hpp, loss_objects.hpp)\n",
                 argv[0]);
    return 2;
  }
  using namespace losskit::LOSSKIT_ISA;
#define LOSSKIT_INFO_ENTRY(Definition) &Definition<double>::kInfo,
  const std::vector<const LossInfo*> elementwise = {LOSSKIT_ELEMENTWISE_DEFINITIONS(LOSSKIT_INFO_ENTRY)};
  const std::vector<const LossInfo*> rowwise = {LOSSKIT_ROWWISE_DEFINITIONS(LOSSKIT_INFO_ENTRY)};
#undef LOSSKIT_INFO_ENTRY
  const std::string ids =
      "// Generated by the build from src/cpp/src/per_isa/definitions/: do not edit.\n"
      "// The losses, in the order of their definitions; losskit::info() describes each.\n"
      "#pragma once\n\nnamespace losskit {\n\n" +
      enumeration("ElementwiseLoss", "kNumElementwiseLosses", elementwise) + "\n" +
      enumeration("RowwiseLoss", "kNumRowwiseLosses", rowwise) + "\n}  // namespace losskit\n";
  std::string objects =
      "// Generated by the build from src/cpp/src/per_isa/definitions/: do not edit.\n"
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
  return write(dir + "/loss_ids.hpp", ids) && write(dir + "/loss_objects.hpp", objects) ? 0 : 1;
}
