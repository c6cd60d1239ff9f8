#include "core/eval/slices.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace sb::eval {

namespace {

struct Token
{
    enum Kind
    {
        Word,
        Quoted,
        Op,
        LBracket,
        RBracket,
        Comma,
        End
    } kind;
    std::string text;
    std::size_t position; // 1-based
};

bool isSpecial(char c)
{
    return std::isspace(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == ',' ||
           c == '=' || c == '!' || c == '<' || c == '>' || c == '\'' || c == '"';
}

Result<std::vector<Token>> tokenize(const std::string &name, const std::string &expr)
{
    std::vector<Token> tokens;
    std::size_t i = 0;
    auto fail = [&](std::size_t pos, const std::string &what) {
        return makeError(ErrorCode::InvalidInput,
                         "slice '" + name + "': position " + std::to_string(pos + 1) + ": " + what);
    };
    while (i < expr.size()) {
        const char c = expr[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '[') {
            tokens.push_back({Token::LBracket, "[", i + 1});
            ++i;
        } else if (c == ']') {
            tokens.push_back({Token::RBracket, "]", i + 1});
            ++i;
        } else if (c == ',') {
            tokens.push_back({Token::Comma, ",", i + 1});
            ++i;
        } else if (c == '\'' || c == '"') {
            const std::size_t close = expr.find(c, i + 1);
            if (close == std::string::npos)
                return fail(i, std::string("unterminated ") + c + " quote");
            tokens.push_back({Token::Quoted, expr.substr(i + 1, close - i - 1), i + 1});
            i = close + 1;
        } else if (c == '=' || c == '!' || c == '<' || c == '>') {
            std::string op(1, c);
            if (i + 1 < expr.size() && expr[i + 1] == '=')
                op += '=';
            if (op == "=" || op == "!")
                return fail(i, "unknown operator '" + op + "' (use == or !=)");
            tokens.push_back({Token::Op, op, i + 1});
            i += op.size();
        } else {
            std::size_t j = i;
            while (j < expr.size() && !isSpecial(expr[j]))
                ++j;
            tokens.push_back({Token::Word, expr.substr(i, j - i), i + 1});
            i = j;
        }
    }
    tokens.push_back({Token::End, "", expr.size() + 1});
    return tokens;
}

} // namespace

Result<SliceSpec> parseSliceExpr(const std::string &name, const std::string &expr)
{
    SB_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(name, expr));
    SliceSpec spec;
    spec.name = name;
    spec.expr = expr;
    std::size_t t = 0;
    auto fail = [&](const Token &tok, const std::string &what) {
        return makeError(ErrorCode::InvalidInput,
                         "slice '" + name + "': position " + std::to_string(tok.position) + ": " +
                             what +
                             (tok.kind == Token::End ? " at the end" : " at '" + tok.text + "'"));
    };
    auto isValue = [](const Token &tok) {
        return tok.kind == Token::Word || tok.kind == Token::Quoted;
    };
    while (true) {
        SliceCondition cond;
        const Token &col = tokens[t];
        if (!isValue(col))
            return fail(col, "expected a column name");
        cond.column = col.text;
        ++t;
        const Token &op = tokens[t];
        if (op.kind == Token::Word && op.text == "in") {
            cond.op = SliceCondition::Op::In;
            ++t;
            if (tokens[t].kind != Token::LBracket)
                return fail(tokens[t], "expected '[' after 'in'");
            ++t;
            while (true) {
                if (!isValue(tokens[t]))
                    return fail(tokens[t], "expected a value in the list");
                cond.values.push_back(tokens[t].text);
                ++t;
                if (tokens[t].kind == Token::Comma) {
                    ++t;
                    continue;
                }
                if (tokens[t].kind == Token::RBracket) {
                    ++t;
                    break;
                }
                return fail(tokens[t], "expected ',' or ']'");
            }
        } else if (op.kind == Token::Op) {
            static const std::pair<const char *, SliceCondition::Op> ops[] = {
                {"==", SliceCondition::Op::Eq}, {"!=", SliceCondition::Op::Ne},
                {"<", SliceCondition::Op::Lt},  {"<=", SliceCondition::Op::Le},
                {">", SliceCondition::Op::Gt},  {">=", SliceCondition::Op::Ge}};
            for (const auto &[text, value] : ops)
                if (op.text == text)
                    cond.op = value;
            ++t;
            if (!isValue(tokens[t]))
                return fail(tokens[t], "expected a value after '" + op.text + "'");
            cond.values.push_back(tokens[t].text);
            ++t;
        } else {
            return fail(op, "expected an operator (==, !=, <, <=, >, >=, in)");
        }
        spec.conditions.push_back(std::move(cond));
        if (tokens[t].kind == Token::End)
            break;
        if (tokens[t].kind == Token::Word && tokens[t].text == "and") {
            ++t;
            continue;
        }
        return fail(tokens[t], "expected 'and' or the end of the expression");
    }
    return spec;
}

Result<SliceSpec> parseSlice(const std::string &text)
{
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos)
        return makeError(ErrorCode::InvalidInput,
                         "slice '" + text + "': expected \"NAME: EXPR\" (no ':' found)");
    std::string name = text.substr(0, colon);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
        name.pop_back();
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())))
        name.erase(name.begin());
    if (name.empty())
        return makeError(ErrorCode::InvalidInput, "slice '" + text + "': empty name before ':'");
    std::string expr = text.substr(colon + 1);
    const std::size_t first = expr.find_first_not_of(" \t");
    expr = first == std::string::npos ? std::string() : expr.substr(first);
    return parseSliceExpr(name, expr);
}

Result<std::vector<RowIndex>> selectRows(const Table &table, const SliceSpec &slice,
                                         std::span<const RowIndex> candidates)
{
    std::vector<RowIndex> rows(candidates.begin(), candidates.end());
    for (const auto &cond : slice.conditions) {
        const Column *column = table.column(cond.column);
        if (!column)
            return makeError(ErrorCode::InvalidInput, "slice '" + slice.name + "': column '" +
                                                          cond.column + "' is not in " +
                                                          table.fileName);
        using Op = SliceCondition::Op;
        std::vector<RowIndex> kept;
        if (column->type == ColumnType::Categorical) {
            if (cond.op != Op::Eq && cond.op != Op::Ne && cond.op != Op::In)
                return makeError(ErrorCode::InvalidInput, "slice '" + slice.name + "': column '" +
                                                              cond.column +
                                                              "' is categorical; use ==, != or in");
            std::vector<char> wanted(column->categories->size(), 0);
            for (const auto &v : cond.values) {
                auto it = std::find(column->categories->begin(), column->categories->end(), v);
                if (it != column->categories->end())
                    wanted[static_cast<std::size_t>(it - column->categories->begin())] = 1;
            }
            for (RowIndex r : rows) {
                const std::int32_t code = column->codes[r];
                if (code < 0)
                    continue;
                const bool hit = wanted[static_cast<std::size_t>(code)] != 0;
                if (cond.op == Op::Ne ? !hit : hit)
                    kept.push_back(r);
            }
        } else {
            std::vector<double> values;
            for (const auto &v : cond.values) {
                double x;
                bool ok = column->type == ColumnType::Datetime
                              ? (parseIsoDatetime(v, x) || parseCsvNumber(v, x))
                              : parseCsvNumber(v, x);
                if (!ok)
                    return makeError(
                        ErrorCode::InvalidInput,
                        "slice '" + slice.name + "': column '" + cond.column + "' is " +
                            columnTypeName(column->type) + " but '" + v + "' is not a " +
                            (column->type == ColumnType::Datetime ? "date" : "number"));
                values.push_back(x);
            }
            const double x = values.front();
            for (RowIndex r : rows) {
                const double v = column->numbers[r];
                if (std::isnan(v))
                    continue;
                bool hit = false;
                switch (cond.op) {
                case Op::Eq:
                    hit = v == x;
                    break;
                case Op::Ne:
                    hit = v != x;
                    break;
                case Op::Lt:
                    hit = v < x;
                    break;
                case Op::Le:
                    hit = v <= x;
                    break;
                case Op::Gt:
                    hit = v > x;
                    break;
                case Op::Ge:
                    hit = v >= x;
                    break;
                case Op::In:
                    hit = std::find(values.begin(), values.end(), v) != values.end();
                    break;
                }
                if (hit)
                    kept.push_back(r);
            }
        }
        rows.swap(kept);
    }
    return rows;
}

} // namespace sb::eval
