// TfIdfVectorizer over integer tokens (int32 / int64; string pools are not
// supported): counts the pool's n-grams (min_gram_length..max_gram_length,
// items max_skip_count apart at most; unigrams once) in each row and writes
// TF, IDF (weight where the count is non-zero) or TFIDF (count * weight).
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <map>

namespace sb::kernels {

namespace {

Status tfIdfKernel(KernelContext &ctx)
{
    const graph::Node &node = ctx.node();
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Int32 && x.type() != ElementType::Int64)
        return ctx.unsupported("input element type " + typeName(x.type()) +
                               " (integer tokens only)");
    if (!node.attribute("pool_int64s"))
        return ctx.unsupported("pool_strings (string tokens)");
    const std::vector<std::int64_t> pool = node.intsAttr("pool_int64s");
    const std::vector<std::int64_t> counts = node.intsAttr("ngram_counts");
    const std::vector<std::int64_t> indexes = node.intsAttr("ngram_indexes");
    const std::int64_t minGram = node.intAttr("min_gram_length", 1);
    const std::int64_t maxGram = node.intAttr("max_gram_length", 1);
    const std::int64_t maxSkip = node.intAttr("max_skip_count", 0);
    const std::string mode = node.stringAttr("mode", "TF");
    std::vector<float> weights;
    if (const graph::Attribute *w = node.attribute("weights"))
        weights = w->floats;
    if (mode != "TF" && mode != "IDF" && mode != "TFIDF")
        return ctx.invalid("mode '" + mode + "' (TF, IDF or TFIDF)");
    if (minGram < 1 || maxGram < minGram || maxSkip < 0 || x.rank() < 1 || x.rank() > 2)
        return ctx.invalid("gram lengths, skip count or input rank out of range");
    // The pool's n-grams by length -> their output column.
    std::map<std::vector<std::int64_t>, std::int64_t> columnOf;
    std::int64_t outputs = 0, ordinal = 0;
    for (std::size_t k = 0; k < counts.size(); ++k) {
        const auto n = static_cast<std::int64_t>(k + 1);
        const std::int64_t begin = counts[k];
        const std::int64_t end =
            k + 1 < counts.size() ? counts[k + 1] : static_cast<std::int64_t>(pool.size());
        if (begin < 0 || end < begin || end > static_cast<std::int64_t>(pool.size()) ||
            (end - begin) % n != 0)
            return ctx.invalid("ngram_counts do not split pool_int64s into n-grams");
        for (std::int64_t at = begin; at < end; at += n, ++ordinal) {
            if (ordinal >= static_cast<std::int64_t>(indexes.size()))
                return ctx.invalid("fewer ngram_indexes than n-grams in the pool");
            columnOf[std::vector<std::int64_t>(pool.begin() + at, pool.begin() + at + n)] =
                indexes[static_cast<std::size_t>(ordinal)];
            outputs = std::max(outputs, indexes[static_cast<std::size_t>(ordinal)] + 1);
        }
    }
    const std::int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
    const std::int64_t length = x.dim(x.rank() - 1);
    Shape outShape = x.rank() == 2 ? Shape{rows, outputs} : Shape{outputs};
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::Float32, outShape));
    float *py = y->as<float>();
    std::fill(py, py + y->elementCount(), 0.0f);
    std::vector<std::int64_t> gram;
    for (std::int64_t r = 0; r < rows; ++r) {
        float *row = py + r * outputs;
        for (std::int64_t n = minGram; n <= maxGram; ++n)
            for (std::int64_t skip = 0; skip <= (n == 1 ? 0 : maxSkip); ++skip)
                for (std::int64_t start = 0; start + (n - 1) * (skip + 1) < length; ++start) {
                    gram.clear();
                    for (std::int64_t j = 0; j < n; ++j)
                        gram.push_back(x.scalarAsInt(r * length + start + j * (skip + 1)));
                    auto it = columnOf.find(gram);
                    if (it != columnOf.end())
                        row[it->second] += 1.0f;
                }
        for (std::int64_t c = 0; c < outputs; ++c) {
            const float w = c < static_cast<std::int64_t>(weights.size())
                                ? weights[static_cast<std::size_t>(c)]
                                : 1.0f;
            if (mode == "IDF")
                row[c] = row[c] > 0.0f ? w : 0.0f;
            else if (mode == "TFIDF")
                row[c] *= w;
        }
    }
    return Status::success();
}

} // namespace

void registerReferenceTfIdf(KernelRegistry &r)
{
    addReference(r, "TfIdfVectorizer", tfIdfKernel);
}

} // namespace sb::kernels
