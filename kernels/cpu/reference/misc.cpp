// Reference kernels for tensor algebra and selection ops: Einsum (ellipsis,
// broadcasting, diagonals, implicit output), Unique, Compress,
// ReverseSequence, Det, the window functions (Hann, Hamming, Blackman), DFT
// and STFT.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numbers>

namespace sb::kernels {

namespace {

std::string stripSpaces(std::string s)
{
    s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
}

std::vector<std::string> splitOn(const std::string &s, char sep)
{
    std::vector<std::string> parts(1);
    for (char ch : s) {
        if (ch == sep)
            parts.emplace_back();
        else
            parts.back() += ch;
    }
    return parts;
}

// ---- Einsum

// Expands "..." in `term` into `count` placeholder labels ('0', '1', ...,
// right-aligned so that broadcasting lines up across operands).
Result<std::string> expandEllipsis(KernelContext &ctx, const std::string &term, std::size_t rank,
                                   std::size_t ellipsisRank)
{
    auto pos = term.find("...");
    if (pos == std::string::npos) {
        if (term.size() != rank)
            return ctx.invalid("term '" + term + "' has " + std::to_string(term.size()) +
                               " labels for an operand of rank " + std::to_string(rank));
        return term;
    }
    std::string head = term.substr(0, pos), tail = term.substr(pos + 3);
    if (head.size() + tail.size() > rank)
        return ctx.invalid("term '" + term + "' has more labels than the operand's rank");
    std::size_t here = rank - head.size() - tail.size();
    std::string dots;
    for (std::size_t i = ellipsisRank - here; i < ellipsisRank; ++i)
        dots += static_cast<char>('0' + i);
    return head + dots + tail;
}

Status einsumKernel(KernelContext &ctx)
{
    std::string equation = stripSpaces(ctx.node().stringAttr("equation", ""));
    const ElementType type = ctx.input(0).type();
    unsigned mask = kFloats | kSignedInts | kUnsignedInts;
    if (!dispatch(type, mask, [](auto) {}))
        return ctx.unsupported("element type " + typeName(type));
    for (std::size_t i = 1; i < ctx.inputCount(); ++i)
        if (ctx.input(i).type() != type)
            return ctx.invalid("operands have different element types");
    auto arrow = equation.find("->");
    std::string lhs = equation.substr(0, arrow);
    std::vector<std::string> terms = splitOn(lhs, ',');
    if (terms.size() != ctx.inputCount())
        return ctx.invalid("equation '" + equation + "' names " + std::to_string(terms.size()) +
                           " operands, the node has " + std::to_string(ctx.inputCount()));
    std::size_t ellipsisRank = 0;
    for (std::size_t i = 0; i < terms.size(); ++i)
        if (terms[i].find("...") != std::string::npos) {
            std::size_t explicitLabels = terms[i].size() - 3;
            if (ctx.input(i).rank() < explicitLabels)
                return ctx.invalid("term '" + terms[i] + "' has more labels than rank");
            ellipsisRank = std::max(ellipsisRank, ctx.input(i).rank() - explicitLabels);
        }
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < terms.size(); ++i) {
        SB_ASSIGN_OR_RETURN(std::string t,
                            expandEllipsis(ctx, terms[i], ctx.input(i).rank(), ellipsisRank));
        labels.push_back(t);
    }
    std::string outLabels;
    if (arrow != std::string::npos) {
        std::string rhs = equation.substr(arrow + 2);
        if (rhs.find("...") != std::string::npos) {
            std::string dots;
            for (std::size_t i = 0; i < ellipsisRank; ++i)
                dots += static_cast<char>('0' + i);
            rhs.replace(rhs.find("..."), 3, dots);
        }
        outLabels = rhs;
    } else {
        std::map<char, int> counts;
        for (const auto &t : labels)
            for (char ch : t)
                ++counts[ch];
        for (std::size_t i = 0; i < ellipsisRank; ++i)
            outLabels += static_cast<char>('0' + i);
        for (const auto &[ch, n] : counts)
            if (n == 1 && !(ch >= '0' && ch <= '9'))
                outLabels += ch;
    }
    // Sizes per label (1 broadcasts).
    std::map<char, std::int64_t> size;
    for (std::size_t i = 0; i < labels.size(); ++i)
        for (std::size_t d = 0; d < labels[i].size(); ++d) {
            char ch = labels[i][d];
            std::int64_t n = ctx.input(i).dim(d);
            auto it = size.find(ch);
            if (it == size.end() || it->second == 1)
                size[ch] = n;
            else if (n != 1 && n != it->second)
                return ctx.invalid(std::string("label '") + ch + "' has sizes " +
                                   std::to_string(it->second) + " and " + std::to_string(n));
        }
    std::string loopLabels = outLabels;
    for (const auto &[ch, n] : size)
        if (outLabels.find(ch) == std::string::npos)
            loopLabels += ch;
    for (char ch : outLabels)
        if (!size.count(ch))
            return ctx.invalid(std::string("output label '") + ch + "' is not in any operand");
    // Stride of every loop label in every operand (0 where absent or broadcast).
    const std::size_t loops = loopLabels.size();
    std::vector<std::int64_t> extent(loops);
    for (std::size_t l = 0; l < loops; ++l)
        extent[l] = size[loopLabels[l]];
    std::vector<std::vector<std::int64_t>> strides(labels.size(),
                                                   std::vector<std::int64_t>(loops, 0));
    for (std::size_t i = 0; i < labels.size(); ++i) {
        Shape st = ctx.input(i).strides();
        for (std::size_t d = 0; d < labels[i].size(); ++d) {
            if (ctx.input(i).dim(d) == 1)
                continue;
            std::size_t l = loopLabels.find(labels[i][d]);
            strides[i][l] += st[d];
        }
    }
    Shape outShape;
    for (char ch : outLabels)
        outShape.push_back(size[ch]);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, type, outShape));
    std::int64_t outCount = out->elementCount();
    std::int64_t inner = 1;
    for (std::size_t l = outLabels.size(); l < loops; ++l)
        inner *= extent[l];
    dispatch(type, mask, [&](auto tag) {
        using T = decltype(tag);
        using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
        std::vector<std::int64_t> idx(loops, 0);
        std::vector<std::int64_t> offset(labels.size(), 0);
        // Advances the odometer over the first `labelCount` loop labels (the
        // last fastest), keeping every operand's offset in step.
        auto advance = [&](std::size_t labelCount) {
            for (std::size_t l = labelCount; l-- > 0;) {
                for (std::size_t i = 0; i < labels.size(); ++i)
                    offset[i] += strides[i][l];
                if (++idx[l] < extent[l])
                    break;
                for (std::size_t i = 0; i < labels.size(); ++i)
                    offset[i] -= strides[i][l] * extent[l];
                idx[l] = 0;
            }
        };
        for (std::int64_t o = 0; o < outCount; ++o) {
            Acc acc = 0;
            for (std::int64_t s = 0; s < inner; ++s) {
                Acc term = 1;
                for (std::size_t i = 0; i < labels.size(); ++i)
                    term =
                        static_cast<Acc>(term * static_cast<Acc>(ctx.input(i).as<T>()[offset[i]]));
                acc = static_cast<Acc>(acc + term);
                advance(loops);
            }
            out->as<T>()[o] = static_cast<T>(acc);
            if (inner == 0) // no summed elements: advance the output labels by hand
                advance(outLabels.size());
        }
    });
    return Status::success();
}

// ---- Unique

// X seen as [outer, n, inner] around the node's optional `axis` attribute
// (the flattened tensor, [1, elements, 1], without it).
struct AxisView
{
    std::int64_t outer = 1, n = 0, inner = 1;
    std::size_t axis = 0;
};

Result<AxisView> axisView(KernelContext &ctx, const Tensor &x)
{
    AxisView v;
    v.n = x.elementCount();
    const graph::Attribute *axisAttr = ctx.node().attribute("axis");
    if (!axisAttr)
        return v;
    auto a = normalizeAxis(axisAttr->i, static_cast<std::int64_t>(x.rank()));
    if (!a)
        return ctx.invalid("axis out of range");
    v.axis = static_cast<std::size_t>(*a);
    v.n = x.dim(v.axis);
    for (std::size_t d = 0; d < v.axis; ++d)
        v.outer *= x.dim(d);
    for (std::size_t d = v.axis + 1; d < x.rank(); ++d)
        v.inner *= x.dim(d);
    return v;
}

// Output 0 = the slices `picks` of X along the view's axis (of the flattened
// X without an axis), in that order.
Status writeSlices(KernelContext &ctx, const Tensor &x, const AxisView &view, bool hasAxis,
                   const std::vector<std::int64_t> &picks)
{
    auto k = static_cast<std::int64_t>(picks.size());
    Shape shape = hasAxis ? x.shape() : Shape{k};
    if (hasAxis)
        shape[view.axis] = k;
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), shape));
    const auto b = static_cast<std::int64_t>(graph::elementSize(x.type()));
    for (std::int64_t o = 0; o < view.outer; ++o)
        for (std::int64_t j = 0; j < k; ++j)
            std::memcpy(static_cast<char *>(y->data()) + (o * k + j) * view.inner * b,
                        static_cast<const char *>(x.data()) +
                            (o * view.n + picks[static_cast<std::size_t>(j)]) * view.inner * b,
                        static_cast<std::size_t>(view.inner * b));
    return Status::success();
}

Status uniqueKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    std::size_t bytes = graph::elementSize(x.type());
    if (bytes == 0 || !dispatch(x.type(), kAllNumeric, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    const graph::Attribute *axisAttr = ctx.node().attribute("axis");
    bool sorted = ctx.node().intAttr("sorted", 1) != 0;
    SB_ASSIGN_OR_RETURN(const AxisView view, axisView(ctx, x));
    const std::int64_t outer = view.outer, n = view.n, inner = view.inner;
    std::vector<std::int64_t> firstOf, inverse(static_cast<std::size_t>(n)), counts;
    std::vector<std::int64_t> order; // unique slice ids in output order
    dispatch(x.type(), kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        // Slices compared element by element (lexicographic), no hashing.
        auto less = [&](std::int64_t a, std::int64_t b) {
            for (std::int64_t o = 0; o < outer; ++o)
                for (std::int64_t k = 0; k < inner; ++k) {
                    T va = px[(o * n + a) * inner + k], vb = px[(o * n + b) * inner + k];
                    if (va != vb)
                        return va < vb;
                }
            return false;
        };
        // Unique ids in order of first occurrence.
        std::vector<std::int64_t> byValue(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i)
            byValue[static_cast<std::size_t>(i)] = i;
        std::stable_sort(byValue.begin(), byValue.end(), less);
        std::vector<std::int64_t> groupOf(static_cast<std::size_t>(n)); // slice -> first slice
        for (std::size_t i = 0; i < byValue.size(); ++i) {
            std::int64_t s = byValue[i];
            bool same = i > 0 && !less(byValue[i - 1], s) && !less(s, byValue[i - 1]);
            groupOf[static_cast<std::size_t>(s)] =
                same ? groupOf[static_cast<std::size_t>(byValue[i - 1])] : s;
        }
        std::vector<std::int64_t> idOfFirst(static_cast<std::size_t>(n), -1);
        for (std::int64_t i = 0; i < n; ++i) {
            std::int64_t first = groupOf[static_cast<std::size_t>(i)];
            if (idOfFirst[static_cast<std::size_t>(first)] < 0) {
                idOfFirst[static_cast<std::size_t>(first)] =
                    static_cast<std::int64_t>(firstOf.size());
                firstOf.push_back(i);
                counts.push_back(0);
            }
            std::int64_t id = idOfFirst[static_cast<std::size_t>(first)];
            inverse[static_cast<std::size_t>(i)] = id;
            ++counts[static_cast<std::size_t>(id)];
        }
        order.resize(firstOf.size());
        for (std::size_t u = 0; u < order.size(); ++u)
            order[u] = static_cast<std::int64_t>(u);
        if (sorted)
            std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
                return less(firstOf[static_cast<std::size_t>(a)],
                            firstOf[static_cast<std::size_t>(b)]);
            });
    });
    std::vector<std::int64_t> rank(order.size());
    for (std::size_t u = 0; u < order.size(); ++u)
        rank[static_cast<std::size_t>(order[u])] = static_cast<std::int64_t>(u);
    auto k = static_cast<std::int64_t>(order.size());
    std::vector<std::int64_t> picks;
    for (std::int64_t u = 0; u < k; ++u)
        picks.push_back(firstOf[static_cast<std::size_t>(order[static_cast<std::size_t>(u)])]);
    SB_TRY(writeSlices(ctx, x, view, axisAttr != nullptr, picks));
    auto writeInts = [&](std::size_t index, std::int64_t count,
                         const std::function<std::int64_t(std::int64_t)> &value) -> Status {
        if (!ctx.hasOutput(index))
            return Status::success();
        SB_ASSIGN_OR_RETURN(Tensor * t, ctx.allocateOutput(index, ElementType::Int64, {count}));
        for (std::int64_t i = 0; i < count; ++i)
            t->as<std::int64_t>()[i] = value(i);
        return Status::success();
    };
    SB_TRY(writeInts(1, k, [&](std::int64_t u) {
        return firstOf[static_cast<std::size_t>(order[static_cast<std::size_t>(u)])];
    }));
    SB_TRY(writeInts(2, n, [&](std::int64_t i) {
        return rank[static_cast<std::size_t>(inverse[static_cast<std::size_t>(i)])];
    }));
    SB_TRY(writeInts(3, k, [&](std::int64_t u) {
        return counts[static_cast<std::size_t>(order[static_cast<std::size_t>(u)])];
    }));
    return Status::success();
}

// ---- Compress

Status compressKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &cond = ctx.input(1);
    std::size_t bytes = graph::elementSize(x.type());
    if (bytes == 0)
        return ctx.unsupported("element type " + typeName(x.type()));
    if (cond.rank() != 1)
        return ctx.invalid("condition must be 1-D");
    const graph::Attribute *axisAttr = ctx.node().attribute("axis");
    SB_ASSIGN_OR_RETURN(const AxisView view, axisView(ctx, x));
    const std::int64_t n = view.n;
    if (cond.elementCount() > n)
        return ctx.invalid("condition is longer than the selected axis");
    std::vector<std::int64_t> keep;
    for (std::int64_t i = 0; i < cond.elementCount(); ++i)
        if (cond.scalarAsInt(i) != 0)
            keep.push_back(i);
    return writeSlices(ctx, x, view, axisAttr != nullptr, keep);
}

// ---- ReverseSequence

Status reverseSequenceKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &lens = ctx.input(1);
    std::size_t bytes = graph::elementSize(x.type());
    if (bytes == 0)
        return ctx.unsupported("element type " + typeName(x.type()));
    std::int64_t batchAxis = ctx.node().intAttr("batch_axis", 1);
    std::int64_t timeAxis = ctx.node().intAttr("time_axis", 0);
    if (x.rank() < 2 || (batchAxis != 0 && batchAxis != 1) || (timeAxis != 0 && timeAxis != 1) ||
        batchAxis == timeAxis)
        return ctx.invalid("batch_axis and time_axis must be 0 and 1 (either order)");
    const std::int64_t batch = x.dim(static_cast<std::size_t>(batchAxis));
    const std::int64_t steps = x.dim(static_cast<std::size_t>(timeAxis));
    if (lens.elementCount() != batch)
        return ctx.invalid("sequence_lens must have one value per batch entry");
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
    const Shape st = x.strides();
    const std::int64_t inner = st[1] * static_cast<std::int64_t>(bytes); // bytes per [a, b] cell
    const std::int64_t bStride = st[static_cast<std::size_t>(batchAxis)];
    const std::int64_t tStride = st[static_cast<std::size_t>(timeAxis)];
    for (std::int64_t b = 0; b < batch; ++b) {
        std::int64_t len = lens.scalarAsInt(b);
        if (len < 0 || len > steps)
            return ctx.invalid("sequence length " + std::to_string(len) + " out of range");
        for (std::int64_t t = 0; t < steps; ++t) {
            std::int64_t from = t < len ? len - 1 - t : t;
            auto b64 = static_cast<std::int64_t>(bytes);
            std::memcpy(static_cast<char *>(y->data()) + (b * bStride + t * tStride) * b64,
                        static_cast<const char *>(x.data()) + (b * bStride + from * tStride) * b64,
                        static_cast<std::size_t>(inner));
        }
    }
    return Status::success();
}

// ---- Det

Status detKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2))
        return ctx.invalid("input must be [*, M, M]");
    const std::int64_t m = x.dim(x.rank() - 1);
    Shape outShape(x.shape().begin(), x.shape().end() - 2);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    const std::int64_t count = out->elementCount();
    std::vector<double> a(static_cast<std::size_t>(m * m));
    for (std::int64_t b = 0; b < count; ++b) {
        for (std::int64_t i = 0; i < m * m; ++i)
            a[static_cast<std::size_t>(i)] = x.scalarAsDouble(b * m * m + i);
        double det = 1;
        for (std::int64_t col = 0; col < m && det != 0; ++col) { // LU, partial pivoting
            std::int64_t pivot = col;
            for (std::int64_t r = col + 1; r < m; ++r)
                if (std::fabs(a[static_cast<std::size_t>(r * m + col)]) >
                    std::fabs(a[static_cast<std::size_t>(pivot * m + col)]))
                    pivot = r;
            if (a[static_cast<std::size_t>(pivot * m + col)] == 0) {
                det = 0;
                break;
            }
            if (pivot != col) {
                for (std::int64_t k = 0; k < m; ++k)
                    std::swap(a[static_cast<std::size_t>(pivot * m + k)],
                              a[static_cast<std::size_t>(col * m + k)]);
                det = -det;
            }
            double p = a[static_cast<std::size_t>(col * m + col)];
            det *= p;
            for (std::int64_t r = col + 1; r < m; ++r) {
                double f = a[static_cast<std::size_t>(r * m + col)] / p;
                for (std::int64_t k = col; k < m; ++k)
                    a[static_cast<std::size_t>(r * m + k)] -=
                        f * a[static_cast<std::size_t>(col * m + k)];
            }
        }
        dispatch(x.type(), kFloats,
                 [&](auto tag) { out->as<decltype(tag)>()[b] = static_cast<decltype(tag)>(det); });
    }
    return Status::success();
}

// ---- Window functions

enum class Window
{
    Hann,
    Hamming,
    Blackman
};

Status windowKernel(KernelContext &ctx, Window kind)
{
    std::int64_t size = ctx.input(0).scalarAsInt();
    if (size < 0)
        return ctx.invalid("size is negative");
    auto outType = static_cast<ElementType>(ctx.node().intAttr("output_datatype", 1));
    if (!dispatch(outType, kAllNumeric, [](auto) {}))
        return ctx.unsupported("output_datatype " + typeName(outType));
    bool periodic = ctx.node().intAttr("periodic", 1) != 0;
    double denominator = static_cast<double>(periodic ? size : size - 1);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, outType, {size}));
    dispatch(outType, kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t i = 0; i < size; ++i) {
            double phase =
                denominator > 0 ? 2 * std::numbers::pi * static_cast<double>(i) / denominator : 0;
            double v;
            switch (kind) {
            case Window::Hann:
                v = 0.5 - 0.5 * std::cos(phase);
                break;
            case Window::Hamming:
                v = 25.0 / 46.0 - (1 - 25.0 / 46.0) * std::cos(phase);
                break;
            default:
                v = 0.42 - 0.5 * std::cos(phase) + 0.08 * std::cos(2 * phase);
                break;
            }
            out->as<T>()[i] = static_cast<T>(v);
        }
    });
    return Status::success();
}

// MelWeightMatrix: triangular mel filters over the bins of a onesided DFT
// ([dft_length / 2 + 1, num_mel_bins]), with the spec's bin rounding.
Status melWeightMatrixKernel(KernelContext &ctx)
{
    const std::int64_t mels = ctx.input(0).scalarAsInt();
    const std::int64_t dftLength = ctx.input(1).scalarAsInt();
    const std::int64_t sampleRate = ctx.input(2).scalarAsInt();
    const double lower = ctx.input(3).scalarAsDouble(), upper = ctx.input(4).scalarAsDouble();
    if (mels <= 0 || dftLength <= 0 || sampleRate <= 0)
        return ctx.invalid("num_mel_bins, dft_length and sample_rate must be positive");
    auto outType = static_cast<ElementType>(ctx.node().intAttr("output_datatype", 1));
    if (!dispatch(outType, kAllNumeric, [](auto) {}))
        return ctx.unsupported("output_datatype " + typeName(outType));
    const std::int64_t bins = dftLength / 2 + 1;
    auto toMel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
    const double lowMel = toMel(lower), highMel = toMel(upper);
    const double step = (highMel - lowMel) / static_cast<double>(mels + 2);
    std::vector<std::int64_t> edge(static_cast<std::size_t>(mels + 2));
    for (std::int64_t i = 0; i < mels + 2; ++i) {
        double hz = 700 * (std::pow(10.0, (static_cast<double>(i) * step + lowMel) / 2595) - 1);
        edge[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(
            std::floor(static_cast<double>(dftLength + 1) * hz / static_cast<double>(sampleRate)));
    }
    std::vector<double> w(static_cast<std::size_t>(bins * mels), 0.0);
    auto at = [&](std::int64_t bin, std::int64_t mel) -> double & {
        return w[static_cast<std::size_t>(bin * mels + mel)];
    };
    for (std::int64_t i = 0; i < mels; ++i) {
        std::int64_t lo = edge[static_cast<std::size_t>(i)];
        std::int64_t center = edge[static_cast<std::size_t>(i + 1)];
        std::int64_t hi = edge[static_cast<std::size_t>(i + 2)];
        if (lo < 0 || hi >= bins + 1 || center >= bins)
            return ctx.invalid("mel edges fall outside the DFT bins");
        if (center == lo)
            at(center, i) = 1;
        else
            for (std::int64_t j = lo; j <= center; ++j)
                at(j, i) = static_cast<double>(j - lo) / static_cast<double>(center - lo);
        if (hi > center)
            for (std::int64_t j = center; j < hi; ++j)
                at(j, i) = static_cast<double>(hi - j) / static_cast<double>(hi - center);
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, outType, {bins, mels}));
    dispatch(outType, kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        for (std::size_t i = 0; i < w.size(); ++i)
            out->as<T>()[i] = static_cast<T>(w[i]);
    });
    return Status::success();
}

// ---- DFT / STFT

// DFT of `n` complex samples (re, im) read with a stride, `length` bins out
// (zero-padded or truncated to dftLength).
void dft(const std::vector<double> &re, const std::vector<double> &im, std::int64_t dftLength,
         std::int64_t bins, bool inverse, std::vector<double> &outRe, std::vector<double> &outIm)
{
    outRe.assign(static_cast<std::size_t>(bins), 0.0);
    outIm.assign(static_cast<std::size_t>(bins), 0.0);
    const double sign = inverse ? 1.0 : -1.0;
    const auto available = static_cast<std::int64_t>(re.size());
    for (std::int64_t k = 0; k < bins; ++k) {
        double sr = 0, si = 0;
        for (std::int64_t t = 0; t < std::min(dftLength, available); ++t) {
            double angle = sign * 2 * std::numbers::pi * static_cast<double>(k * t % dftLength) /
                           static_cast<double>(dftLength);
            double c = std::cos(angle), s = std::sin(angle);
            sr += re[static_cast<std::size_t>(t)] * c - im[static_cast<std::size_t>(t)] * s;
            si += re[static_cast<std::size_t>(t)] * s + im[static_cast<std::size_t>(t)] * c;
        }
        if (inverse) {
            sr /= static_cast<double>(dftLength);
            si /= static_cast<double>(dftLength);
        }
        outRe[static_cast<std::size_t>(k)] = sr;
        outIm[static_cast<std::size_t>(k)] = si;
    }
}

Status dftKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() < 3 || (x.dim(x.rank() - 1) != 1 && x.dim(x.rank() - 1) != 2))
        return ctx.invalid("input must be [batch, signal..., 1 or 2]");
    const bool complexIn = x.dim(x.rank() - 1) == 2;
    const bool inverse = ctx.node().intAttr("inverse", 0) != 0;
    const bool onesided = ctx.node().intAttr("onesided", 0) != 0;
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 1), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt || *axisOpt == 0 || *axisOpt == static_cast<std::int64_t>(x.rank()) - 1)
        return ctx.invalid("axis must name a signal dimension");
    auto axis = static_cast<std::size_t>(*axisOpt);
    const std::int64_t n = x.dim(axis);
    std::int64_t dftLength = n;
    if (ctx.hasInput(1) && ctx.input(1).elementCount() > 0)
        dftLength = ctx.input(1).scalarAsInt();
    if (dftLength <= 0)
        return ctx.invalid("dft_length must be positive");
    if (onesided && inverse)
        return ctx.unsupported("onesided inverse DFT");
    const std::int64_t bins = onesided ? dftLength / 2 + 1 : dftLength;
    Shape outShape = x.shape();
    outShape[axis] = bins;
    outShape.back() = 2;
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    const Shape inStrides = x.strides(), outStrides = out->strides();
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= x.dim(d);
    for (std::size_t d = axis + 1; d + 1 < x.rank(); ++d)
        inner *= x.dim(d);
    std::vector<double> re(static_cast<std::size_t>(n)), im(static_cast<std::size_t>(n));
    std::vector<double> oRe, oIm;
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < inner; ++i) {
            for (std::int64_t t = 0; t < n; ++t) {
                std::int64_t at =
                    o * n * inStrides[axis] + t * inStrides[axis] + i * x.dim(x.rank() - 1);
                re[static_cast<std::size_t>(t)] = x.scalarAsDouble(at);
                im[static_cast<std::size_t>(t)] = complexIn ? x.scalarAsDouble(at + 1) : 0.0;
            }
            dft(re, im, dftLength, bins, inverse, oRe, oIm);
            dispatch(x.type(), kFloats, [&](auto tag) {
                using T = decltype(tag);
                for (std::int64_t k = 0; k < bins; ++k) {
                    std::int64_t at = o * bins * outStrides[axis] + k * outStrides[axis] + i * 2;
                    out->as<T>()[at] = static_cast<T>(oRe[static_cast<std::size_t>(k)]);
                    out->as<T>()[at + 1] = static_cast<T>(oIm[static_cast<std::size_t>(k)]);
                }
            });
        }
    return Status::success();
}

Status stftKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2))
        return ctx.invalid("signal must be [batch, length, 1 or 2]");
    const bool complexIn = x.dim(2) == 2;
    const std::int64_t step = ctx.input(1).scalarAsInt();
    const Tensor *window =
        ctx.hasInput(2) && ctx.input(2).elementCount() > 0 ? &ctx.input(2) : nullptr;
    std::int64_t frameLength = window ? window->elementCount() : 0;
    if (ctx.hasInput(3) && ctx.input(3).elementCount() > 0)
        frameLength = ctx.input(3).scalarAsInt();
    if (frameLength <= 0 || step <= 0)
        return ctx.invalid("frame_step and the frame length must be positive");
    if (window && window->elementCount() != frameLength)
        return ctx.invalid("window length differs from frame_length");
    const bool onesided = ctx.node().intAttr("onesided", 1) != 0;
    const std::int64_t batch = x.dim(0), length = x.dim(1);
    if (length < frameLength)
        return ctx.invalid("signal is shorter than one frame");
    const std::int64_t frames = (length - frameLength) / step + 1;
    const std::int64_t bins = onesided ? frameLength / 2 + 1 : frameLength;
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), {batch, frames, bins, 2}));
    std::vector<double> re(static_cast<std::size_t>(frameLength)), im(re.size()), oRe, oIm;
    for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t f = 0; f < frames; ++f) {
            for (std::int64_t t = 0; t < frameLength; ++t) {
                double w = window ? window->scalarAsDouble(t) : 1.0;
                std::int64_t at = (b * length + f * step + t) * x.dim(2);
                re[static_cast<std::size_t>(t)] = w * x.scalarAsDouble(at);
                im[static_cast<std::size_t>(t)] = complexIn ? w * x.scalarAsDouble(at + 1) : 0.0;
            }
            dft(re, im, frameLength, bins, false, oRe, oIm);
            dispatch(x.type(), kFloats, [&](auto tag) {
                using T = decltype(tag);
                for (std::int64_t k = 0; k < bins; ++k) {
                    std::int64_t at = ((b * frames + f) * bins + k) * 2;
                    out->as<T>()[at] = static_cast<T>(oRe[static_cast<std::size_t>(k)]);
                    out->as<T>()[at + 1] = static_cast<T>(oIm[static_cast<std::size_t>(k)]);
                }
            });
        }
    return Status::success();
}

} // namespace

void registerReferenceMisc(KernelRegistry &r)
{
    addReference(r, "Einsum", einsumKernel);
    addReference(r, "Unique", uniqueKernel);
    addReference(r, "Compress", compressKernel);
    addReference(r, "ReverseSequence", reverseSequenceKernel);
    addReference(r, "Det", detKernel);
    addReference(r, "HannWindow", [](KernelContext &c) { return windowKernel(c, Window::Hann); });
    addReference(r, "HammingWindow",
                 [](KernelContext &c) { return windowKernel(c, Window::Hamming); });
    addReference(r, "BlackmanWindow",
                 [](KernelContext &c) { return windowKernel(c, Window::Blackman); });
    addReference(r, "MelWeightMatrix", melWeightMatrixKernel);
    addReference(r, "DFT", dftKernel);
    addReference(r, "STFT", stftKernel);
}

} // namespace sb::kernels
