// User slices: "NAME: EXPR" over any column of a Table.
//
// EXPR := COND ('and' COND)*
// COND := COLUMN OP VALUE | COLUMN 'in' '[' VALUE (',' VALUE)* ']'
// OP   := '==' | '!=' | '<' | '<=' | '>' | '>='
// COLUMN and VALUE are bare words (no blanks or any of []=!<>,'") or quoted
// with ' or ". `in` is membership in the listed values. Values compare as
// numbers on numerical columns, ISO 8601 instants on datetime columns and
// text on categorical columns (<, <=, >, >= need a numerical or datetime
// column). A missing value matches no condition.
// Parse errors name the slice and the 1-based character position in EXPR.
#pragma once

#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/metrics.h"

#include <string>
#include <vector>

namespace sb::eval {

struct SliceCondition
{
    enum class Op
    {
        Eq,
        Ne,
        Lt,
        Le,
        Gt,
        Ge,
        In
    };
    std::string column;
    Op op = Op::Eq;
    std::vector<std::string> values;
};

struct SliceSpec
{
    std::string name;
    std::string expr;
    std::vector<SliceCondition> conditions;
};

// Parses "NAME: EXPR".
Result<SliceSpec> parseSlice(const std::string &text);
// Parses EXPR alone (name used in error messages).
Result<SliceSpec> parseSliceExpr(const std::string &name, const std::string &expr);

// Rows of `table` (restricted to `candidates`) matching every condition.
// Errors: unknown column, a value that is not a number/date for a
// numerical/datetime column, an ordering on a categorical column.
Result<std::vector<RowIndex>> selectRows(const Table &table, const SliceSpec &slice,
                                         std::span<const RowIndex> candidates);

} // namespace sb::eval
