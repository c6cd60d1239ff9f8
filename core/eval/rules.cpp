#include "core/eval/rules.h"

#include <cctype>
#include <charconv>
#include <functional>
#include <vector>

namespace sb::eval {

const char *verdictName(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Pass:
        return "pass";
    case Verdict::Fail:
        return "fail";
    case Verdict::Unknown:
        return "unknown";
    }
    return "unknown";
}

struct Rule::Node
{
    enum class Kind
    {
        Compare,
        And,
        Or,
        Not
    } kind = Kind::Compare;
    std::string metric;
    std::string op;
    double number = 0;
    std::vector<std::shared_ptr<const Node>> children;
};

namespace {

struct Token
{
    enum class Type
    {
        Word,
        Number,
        Op,
        LParen,
        RParen,
        End
    } type = Type::End;
    std::string text;
    double number = 0;
    std::size_t column = 0; // 1-based
};

class Parser
{
public:
    explicit Parser(const std::string &text) : m_text(text) {}

    Result<std::shared_ptr<const Rule::Node>> parse()
    {
        SB_TRY(tokenize());
        SB_ASSIGN_OR_RETURN(auto root, parseOr());
        if (peek().type != Token::Type::End)
            return error(peek(), "unexpected '" + peek().text + "'");
        return root;
    }

private:
    using NodePtr = std::shared_ptr<const Rule::Node>;

    Error error(const Token &token, const std::string &message) const
    {
        return makeError(ErrorCode::InvalidInput, "rule '" + m_text + "', column " +
                                                      std::to_string(token.column) + ": " +
                                                      message);
    }

    Status tokenize()
    {
        std::size_t i = 0;
        while (i < m_text.size()) {
            char c = m_text[i];
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++i;
                continue;
            }
            Token token;
            token.column = i + 1;
            if (c == '(' || c == ')') {
                token.type = c == '(' ? Token::Type::LParen : Token::Type::RParen;
                token.text = std::string(1, c);
                ++i;
            } else if (c == '<' || c == '>' || c == '=' || c == '!') {
                std::size_t length = (i + 1 < m_text.size() && m_text[i + 1] == '=') ? 2 : 1;
                token.type = Token::Type::Op;
                token.text = m_text.substr(i, length);
                if (token.text == "=" || token.text == "!")
                    return error(token, "unknown operator '" + token.text +
                                            "' (use <, <=, >, >=, ==, !=)");
                i += length;
            } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
                       c == '.') {
                std::size_t end = i + 1;
                while (end < m_text.size() &&
                       (std::isalnum(static_cast<unsigned char>(m_text[end])) ||
                        m_text[end] == '.' ||
                        ((m_text[end] == '-' || m_text[end] == '+') &&
                         (m_text[end - 1] == 'e' || m_text[end - 1] == 'E'))))
                    ++end;
                token.type = Token::Type::Number;
                token.text = m_text.substr(i, end - i);
                const char *first = token.text.data();
                if (*first == '+')
                    ++first;
                auto [ptr, ec] =
                    std::from_chars(first, token.text.data() + token.text.size(), token.number);
                if (ec != std::errc() || ptr != token.text.data() + token.text.size())
                    return error(token, "'" + token.text + "' is not a number");
                i = end;
            } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                std::size_t end = i + 1;
                while (end < m_text.size() &&
                       (std::isalnum(static_cast<unsigned char>(m_text[end])) ||
                        m_text[end] == '_' || m_text[end] == '.' || m_text[end] == '@'))
                    ++end;
                token.text = m_text.substr(i, end - i);
                if (token.text == "true" || token.text == "false") {
                    token.type = Token::Type::Number;
                    token.number = token.text == "true" ? 1 : 0;
                } else {
                    token.type = Token::Type::Word;
                }
                i = end;
            } else {
                return error(token, std::string("unexpected character '") + c + "'");
            }
            m_tokens.push_back(std::move(token));
        }
        Token end;
        end.type = Token::Type::End;
        end.text = "end of rule";
        end.column = m_text.size() + 1;
        m_tokens.push_back(end);
        return Status::success();
    }

    const Token &peek() const { return m_tokens[m_position]; }
    const Token &next() { return m_tokens[m_position++]; }
    bool isKeyword(const Token &token, const char *word) const
    {
        return token.type == Token::Type::Word && token.text == word;
    }

    Result<NodePtr> parseOr()
    {
        SB_ASSIGN_OR_RETURN(NodePtr left, parseAnd());
        if (!isKeyword(peek(), "or"))
            return left;
        auto node = std::make_shared<Rule::Node>();
        node->kind = Rule::Node::Kind::Or;
        node->children.push_back(left);
        while (isKeyword(peek(), "or")) {
            next();
            SB_ASSIGN_OR_RETURN(NodePtr right, parseAnd());
            node->children.push_back(right);
        }
        return NodePtr(node);
    }

    Result<NodePtr> parseAnd()
    {
        SB_ASSIGN_OR_RETURN(NodePtr left, parsePrimary());
        if (!isKeyword(peek(), "and"))
            return left;
        auto node = std::make_shared<Rule::Node>();
        node->kind = Rule::Node::Kind::And;
        node->children.push_back(left);
        while (isKeyword(peek(), "and")) {
            next();
            SB_ASSIGN_OR_RETURN(NodePtr right, parsePrimary());
            node->children.push_back(right);
        }
        return NodePtr(node);
    }

    Result<NodePtr> parsePrimary()
    {
        const Token &token = next();
        if (token.type == Token::Type::LParen) {
            SB_ASSIGN_OR_RETURN(NodePtr inner, parseOr());
            if (peek().type != Token::Type::RParen)
                return error(peek(), "expected ')' but found '" + peek().text + "'");
            next();
            return inner;
        }
        if (isKeyword(token, "not")) {
            SB_ASSIGN_OR_RETURN(NodePtr inner, parsePrimary());
            auto node = std::make_shared<Rule::Node>();
            node->kind = Rule::Node::Kind::Not;
            node->children.push_back(inner);
            return NodePtr(node);
        }
        if (token.type != Token::Type::Word || isKeyword(token, "and") || isKeyword(token, "or"))
            return error(token, "expected a metric name but found '" + token.text + "'");
        const Token &op = next();
        if (op.type != Token::Type::Op)
            return error(op, "expected a comparison (<, <=, >, >=, ==, !=) after '" + token.text +
                                 "' but found '" + op.text + "'");
        const Token &number = next();
        if (number.type != Token::Type::Number)
            return error(number, "expected a number after '" + op.text + "' but found '" +
                                     number.text + "'");
        auto node = std::make_shared<Rule::Node>();
        node->kind = Rule::Node::Kind::Compare;
        node->metric = token.text;
        node->op = op.text;
        node->number = number.number;
        return NodePtr(node);
    }

    const std::string &m_text;
    std::vector<Token> m_tokens;
    std::size_t m_position = 0;
};

Verdict evaluateNode(const Rule::Node &node, const std::map<std::string, double> &metrics)
{
    using Kind = Rule::Node::Kind;
    switch (node.kind) {
    case Kind::Compare: {
        auto it = metrics.find(node.metric);
        if (it == metrics.end() || it->second != it->second) // missing or NaN
            return Verdict::Unknown;
        double value = it->second;
        bool result = false;
        if (node.op == "<")
            result = value < node.number;
        else if (node.op == "<=")
            result = value <= node.number;
        else if (node.op == ">")
            result = value > node.number;
        else if (node.op == ">=")
            result = value >= node.number;
        else if (node.op == "==")
            result = value == node.number;
        else if (node.op == "!=")
            result = value != node.number;
        return result ? Verdict::Pass : Verdict::Fail;
    }
    case Kind::Not: {
        Verdict inner = evaluateNode(*node.children.front(), metrics);
        if (inner == Verdict::Unknown)
            return inner;
        return inner == Verdict::Pass ? Verdict::Fail : Verdict::Pass;
    }
    case Kind::And: {
        bool unknown = false;
        for (const auto &child : node.children) {
            Verdict verdict = evaluateNode(*child, metrics);
            if (verdict == Verdict::Fail)
                return Verdict::Fail;
            unknown = unknown || verdict == Verdict::Unknown;
        }
        return unknown ? Verdict::Unknown : Verdict::Pass;
    }
    case Kind::Or: {
        bool unknown = false;
        for (const auto &child : node.children) {
            Verdict verdict = evaluateNode(*child, metrics);
            if (verdict == Verdict::Pass)
                return Verdict::Pass;
            unknown = unknown || verdict == Verdict::Unknown;
        }
        return unknown ? Verdict::Unknown : Verdict::Fail;
    }
    }
    return Verdict::Unknown;
}

void collectNames(const Rule::Node &node, std::set<std::string> &names)
{
    if (node.kind == Rule::Node::Kind::Compare)
        names.insert(node.metric);
    for (const auto &child : node.children)
        collectNames(*child, names);
}

} // namespace

Result<Rule> Rule::parse(const std::string &text)
{
    Parser parser(text);
    SB_ASSIGN_OR_RETURN(auto root, parser.parse());
    Rule rule;
    rule.m_text = text;
    rule.m_root = std::move(root);
    return rule;
}

Rule Rule::comparison(const std::string &text, const std::string &metric, const std::string &op,
                      double number)
{
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::Compare;
    node->metric = metric;
    node->op = op;
    node->number = number;
    Rule rule;
    rule.m_text = text;
    rule.m_root = std::move(node);
    return rule;
}

Verdict Rule::evaluate(const std::map<std::string, double> &metrics) const
{
    if (!m_root)
        return Verdict::Unknown;
    return evaluateNode(*m_root, metrics);
}

std::set<std::string> Rule::metricNames() const
{
    std::set<std::string> names;
    if (m_root)
        collectNames(*m_root, names);
    return names;
}

} // namespace sb::eval
