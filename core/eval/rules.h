// The rule language over named metrics: checklist evidence rules, monitoring
// triggers and the --gate expressions of `eval` and `robustness` all use it.
//
//   rule    := orExpr
//   orExpr  := andExpr ("or" andExpr)*
//   andExpr := primary ("and" primary)*
//   primary := "(" orExpr ")" | METRIC OP NUMBER | "not" primary
//   OP      := "<" | "<=" | ">" | ">=" | "==" | "!="
//
// METRIC is [A-Za-z_][A-Za-z0-9_.@]*; NUMBER is a decimal (1, 0.05, -2e-3) or
// true/false (1/0). Evaluation is three-valued: a comparison on a metric that
// is not available is Unknown; "and" is Fail if any side fails, else Unknown
// if any side is unknown; "or" is Pass if any side passes, else Unknown if any
// side is unknown. Unknown keeps a checklist item open.
#pragma once

#include "core/common/result.h"

#include <map>
#include <memory>
#include <set>
#include <string>

namespace sb::eval {

enum class Verdict
{
    Pass,
    Fail,
    Unknown
};

const char *verdictName(Verdict verdict);

class Rule
{
public:
    struct Node;

    // Errors name the rule text and the column of the problem.
    static Result<Rule> parse(const std::string &text);
    // The single comparison "METRIC OP NUMBER" for a METRIC the grammar cannot
    // spell (e.g. a slice name with spaces); `op` one of the OPs above.
    static Rule comparison(const std::string &text, const std::string &metric,
                           const std::string &op, double number);

    Verdict evaluate(const std::map<std::string, double> &metrics) const;
    // Every metric the rule mentions.
    std::set<std::string> metricNames() const;
    const std::string &text() const { return m_text; }

private:
    std::string m_text;
    std::shared_ptr<const Node> m_root;
};

} // namespace sb::eval
