// Reference recurrent kernels: RNN, GRU and LSTM with forward, reverse and
// bidirectional directions, per-batch sequence_lens, initial states, biases,
// LSTM peepholes and input_forget, GRU linear_before_reset, clip, every
// activation function the spec lists (with activation_alpha/beta consumed in
// order) and both layouts (opset 14). Plain loops with double accumulators.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace sb::kernels {

namespace {

enum class Cell
{
    Rnn,
    Gru,
    Lstm
};

struct Activation
{
    std::string name;
    double alpha = 0, beta = 0;
    double operator()(double x) const
    {
        if (name == "sigmoid")
            return 1 / (1 + std::exp(-x));
        if (name == "tanh")
            return std::tanh(x);
        if (name == "relu")
            return std::max(x, 0.0);
        if (name == "affine")
            return alpha * x + beta;
        if (name == "leakyrelu")
            return x >= 0 ? x : alpha * x;
        if (name == "thresholdedrelu")
            return x > alpha ? x : 0;
        if (name == "scaledtanh")
            return alpha * std::tanh(beta * x);
        if (name == "hardsigmoid")
            return std::clamp(alpha * x + beta, 0.0, 1.0);
        if (name == "elu")
            return x >= 0 ? x : alpha * (std::exp(x) - 1);
        if (name == "softsign")
            return x / (1 + std::fabs(x));
        return std::log1p(std::exp(x)); // softplus
    }
};

Result<std::vector<Activation>> activations(KernelContext &ctx, Cell cell, int directions)
{
    static const char *kDefaults[3][3] = {
        {"Tanh", nullptr, nullptr}, {"Sigmoid", "Tanh", nullptr}, {"Sigmoid", "Tanh", "Tanh"}};
    const int perDirection = cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 2 : 3;
    std::vector<std::string> names;
    if (const graph::Attribute *a = ctx.node().attribute("activations"))
        names = a->strings;
    if (names.empty())
        for (int d = 0; d < directions; ++d)
            for (int i = 0; i < perDirection; ++i)
                names.emplace_back(kDefaults[static_cast<int>(cell)][i]);
    if (static_cast<int>(names.size()) == perDirection && directions == 2)
        for (int i = 0; i < perDirection; ++i)
            names.push_back(names[static_cast<std::size_t>(i)]);
    if (static_cast<int>(names.size()) != perDirection * directions)
        return ctx.invalid("activations lists " + std::to_string(names.size()) +
                           " functions, expected " + std::to_string(perDirection * directions));
    std::vector<float> alphas, betas;
    if (const graph::Attribute *a = ctx.node().attribute("activation_alpha"))
        alphas = a->floats;
    if (const graph::Attribute *a = ctx.node().attribute("activation_beta"))
        betas = a->floats;
    std::size_t ai = 0, bi = 0;
    std::vector<Activation> result;
    for (const std::string &raw : names) {
        Activation f;
        for (char ch : raw)
            f.name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        struct Defaults
        {
            const char *name;
            bool alpha, beta;
            double a, b;
        };
        static const Defaults kParams[] = {
            {"sigmoid", false, false, 0, 0},     {"tanh", false, false, 0, 0},
            {"relu", false, false, 0, 0},        {"softsign", false, false, 0, 0},
            {"softplus", false, false, 0, 0},    {"affine", true, true, 1, 0},
            {"leakyrelu", true, false, 0.01, 0}, {"thresholdedrelu", true, false, 1, 0},
            {"scaledtanh", true, true, 1, 1},    {"hardsigmoid", true, true, 0.2, 0.5},
            {"elu", true, false, 1, 0}};
        const Defaults *p = nullptr;
        for (const auto &d : kParams)
            if (f.name == d.name)
                p = &d;
        if (!p)
            return ctx.unsupported("activation '" + raw + "'");
        f.alpha = p->a;
        f.beta = p->b;
        if (p->alpha && ai < alphas.size())
            f.alpha = alphas[ai++];
        if (p->beta && bi < betas.size())
            f.beta = betas[bi++];
        result.push_back(f);
    }
    return result;
}

Status recurrentKernel(KernelContext &ctx, Cell cell)
{
    const Tensor &x = ctx.input(0);
    const Tensor &w = ctx.input(1);
    const Tensor &r = ctx.input(2);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    const auto &node = ctx.node();
    const std::string direction = node.stringAttr("direction", "forward");
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
        return ctx.invalid("direction '" + direction + "'");
    const int directions = direction == "bidirectional" ? 2 : 1;
    const int gates = cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 3 : 4;
    const bool batchFirst = node.intAttr("layout", 0) != 0;
    if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3)
        return ctx.invalid("X, W and R must be rank 3");
    const std::int64_t seq = batchFirst ? x.dim(1) : x.dim(0);
    const std::int64_t batch = batchFirst ? x.dim(0) : x.dim(1);
    const std::int64_t inputSize = x.dim(2);
    const std::int64_t hidden = node.intAttr("hidden_size", r.dim(2));
    if (w.dim(0) != directions || w.dim(1) != gates * hidden || w.dim(2) != inputSize ||
        r.dim(0) != directions || r.dim(1) != gates * hidden || r.dim(2) != hidden)
        return ctx.invalid("W " + runtime::shapeToString(w.shape()) + " or R " +
                           runtime::shapeToString(r.shape()) + " does not match hidden_size " +
                           std::to_string(hidden) + " and " + std::to_string(directions) +
                           " direction(s)");
    SB_ASSIGN_OR_RETURN(std::vector<Activation> acts, activations(ctx, cell, directions));
    const graph::Attribute *clipAttr = node.attribute("clip");
    const double clip = clipAttr ? clipAttr->f : 0.0;
    const bool linearBeforeReset = node.intAttr("linear_before_reset", 0) != 0;
    const bool inputForget = node.intAttr("input_forget", 0) != 0;
    auto opt = [&](std::size_t i) -> const Tensor * {
        return ctx.hasInput(i) && ctx.input(i).elementCount() > 0 ? &ctx.input(i) : nullptr;
    };
    const Tensor *bias = opt(3), *lens = opt(4), *h0 = opt(5);
    const Tensor *c0 = cell == Cell::Lstm ? opt(6) : nullptr;
    const Tensor *peep = cell == Cell::Lstm ? opt(7) : nullptr;
    if (bias && bias->elementCount() != directions * 2 * gates * hidden)
        return ctx.invalid("B must be [num_directions, " + std::to_string(2 * gates) +
                           " * hidden_size]");
    if (peep && peep->elementCount() != directions * 3 * hidden)
        return ctx.invalid("P must be [num_directions, 3 * hidden_size]");
    for (const Tensor *s : {h0, c0})
        if (s && s->elementCount() != directions * batch * hidden)
            return ctx.invalid("initial state must be [num_directions, batch, hidden_size]");
    if (lens && lens->elementCount() != batch)
        return ctx.invalid("sequence_lens must have one value per batch entry");

    // Outputs, computed in double and written at the end.
    std::vector<double> y(static_cast<std::size_t>(seq * directions * batch * hidden), 0.0);
    std::vector<double> yh(static_cast<std::size_t>(directions * batch * hidden), 0.0);
    std::vector<double> yc(yh.size(), 0.0);
    auto xAt = [&](std::int64_t t, std::int64_t b, std::int64_t i) {
        return x.scalarAsDouble(batchFirst ? (b * seq + t) * inputSize + i
                                           : (t * batch + b) * inputSize + i);
    };
    auto clipped = [&](double v) { return clip > 0 ? std::clamp(v, -clip, clip) : v; };
    std::vector<double> pre(static_cast<std::size_t>(gates * hidden));
    std::vector<double> rh(static_cast<std::size_t>(gates * hidden));
    for (int dir = 0; dir < directions; ++dir) {
        const bool reverse = direction == "reverse" || dir == 1;
        const Activation &f = acts[static_cast<std::size_t>(dir * (gates == 1   ? 1
                                                                   : gates == 3 ? 2
                                                                                : 3))];
        const Activation &g =
            gates == 1 ? f : acts[static_cast<std::size_t>(dir * (gates == 3 ? 2 : 3) + 1)];
        const Activation &h = gates == 4 ? acts[static_cast<std::size_t>(dir * 3 + 2)] : g;
        const std::int64_t wBase = dir * gates * hidden * inputSize;
        const std::int64_t rBase = dir * gates * hidden * hidden;
        auto wb = [&](std::int64_t j) {
            return bias ? bias->scalarAsDouble(dir * 2 * gates * hidden + j) : 0.0;
        };
        auto rb = [&](std::int64_t j) {
            return bias ? bias->scalarAsDouble(dir * 2 * gates * hidden + gates * hidden + j) : 0.0;
        };
        for (std::int64_t b = 0; b < batch; ++b) {
            std::int64_t len = lens ? lens->scalarAsInt(b) : seq;
            if (len < 0 || len > seq)
                return ctx.invalid("sequence length " + std::to_string(len) + " out of range");
            std::vector<double> hs(static_cast<std::size_t>(hidden), 0.0), cs(hs);
            for (std::int64_t j = 0; j < hidden; ++j) {
                std::int64_t s = (dir * batch + b) * hidden + j;
                if (h0)
                    hs[static_cast<std::size_t>(j)] = h0->scalarAsDouble(s);
                if (c0)
                    cs[static_cast<std::size_t>(j)] = c0->scalarAsDouble(s);
            }
            for (std::int64_t step = 0; step < len; ++step) {
                std::int64_t t = reverse ? len - 1 - step : step;
                for (std::int64_t j = 0; j < gates * hidden; ++j) {
                    double xa = wb(j), ha = rb(j);
                    for (std::int64_t i = 0; i < inputSize; ++i)
                        xa += xAt(t, b, i) * w.scalarAsDouble(wBase + j * inputSize + i);
                    for (std::int64_t i = 0; i < hidden; ++i)
                        ha += hs[static_cast<std::size_t>(i)] *
                              r.scalarAsDouble(rBase + j * hidden + i);
                    pre[static_cast<std::size_t>(j)] = xa;
                    rh[static_cast<std::size_t>(j)] = ha;
                }
                std::vector<double> next(static_cast<std::size_t>(hidden));
                for (std::int64_t j = 0; j < hidden; ++j) {
                    auto at = [&](int gate) { return static_cast<std::size_t>(gate * hidden + j); };
                    auto uj = static_cast<std::size_t>(j);
                    if (cell == Cell::Rnn) {
                        next[uj] = f(clipped(pre[at(0)] + rh[at(0)]));
                    } else if (cell == Cell::Gru) { // gates z, r, h
                        double z = f(clipped(pre[at(0)] + rh[at(0)]));
                        double rg = f(clipped(pre[at(1)] + rh[at(1)]));
                        double cand;
                        if (linearBeforeReset) {
                            cand = g(clipped(pre[at(2)] + rg * rh[at(2)]));
                        } else {
                            // (r (.) H_{t-1}) R_h^T: unit i's reset gate scales H_i.
                            double acc = rb(2 * hidden + j);
                            for (std::int64_t i = 0; i < hidden; ++i) {
                                double ri = f(clipped(pre[static_cast<std::size_t>(hidden + i)] +
                                                      rh[static_cast<std::size_t>(hidden + i)]));
                                acc += ri * hs[static_cast<std::size_t>(i)] *
                                       r.scalarAsDouble(rBase + (2 * hidden + j) * hidden + i);
                            }
                            cand = g(clipped(pre[at(2)] + acc));
                        }
                        next[uj] = (1 - z) * cand + z * hs[uj];
                    } else { // gates i, o, f, c; peepholes i, o, f
                        auto p = [&](int k) {
                            return peep ? peep->scalarAsDouble((dir * 3 + k) * hidden + j) : 0.0;
                        };
                        double ig = f(clipped(pre[at(0)] + rh[at(0)] + p(0) * cs[uj]));
                        double fg = inputForget
                                        ? 1 - ig
                                        : f(clipped(pre[at(2)] + rh[at(2)] + p(2) * cs[uj]));
                        double cg = g(clipped(pre[at(3)] + rh[at(3)]));
                        double c = fg * cs[uj] + ig * cg;
                        double og = f(clipped(pre[at(1)] + rh[at(1)] + p(1) * c));
                        cs[uj] = c;
                        next[uj] = og * h(c);
                    }
                }
                hs = next;
                for (std::int64_t j = 0; j < hidden; ++j)
                    y[static_cast<std::size_t>(((t * directions + dir) * batch + b) * hidden + j)] =
                        hs[static_cast<std::size_t>(j)];
            }
            for (std::int64_t j = 0; j < hidden; ++j) {
                auto s = static_cast<std::size_t>((dir * batch + b) * hidden + j);
                yh[s] = hs[static_cast<std::size_t>(j)];
                yc[s] = cs[static_cast<std::size_t>(j)];
            }
        }
    }
    // Write outputs in the requested layout.
    auto write = [&](std::size_t index, const std::vector<double> &src, const Shape &shape,
                     const std::function<std::size_t(std::int64_t)> &from) -> Status {
        if (!ctx.hasOutput(index))
            return Status::success();
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(index, x.type(), shape));
        dispatch(x.type(), kFloats, [&](auto tag) {
            using T = decltype(tag);
            for (std::int64_t i = 0; i < out->elementCount(); ++i)
                out->as<T>()[i] = static_cast<T>(src[from(i)]);
        });
        return Status::success();
    };
    const std::int64_t d2 = directions;
    if (batchFirst) {
        // Y [batch, seq, dirs, hidden] from [seq, dirs, batch, hidden]
        SB_TRY(write(0, y, {batch, seq, d2, hidden}, [&](std::int64_t i) {
            std::int64_t j = i % hidden, dir = (i / hidden) % d2, t = (i / (hidden * d2)) % seq,
                         b = i / (hidden * d2 * seq);
            return static_cast<std::size_t>(((t * d2 + dir) * batch + b) * hidden + j);
        }));
        auto state = [&](std::int64_t i) {
            std::int64_t j = i % hidden, dir = (i / hidden) % d2, b = i / (hidden * d2);
            return static_cast<std::size_t>((dir * batch + b) * hidden + j);
        };
        SB_TRY(write(1, yh, {batch, d2, hidden}, state));
        if (cell == Cell::Lstm)
            SB_TRY(write(2, yc, {batch, d2, hidden}, state));
    } else {
        auto same = [](std::int64_t i) { return static_cast<std::size_t>(i); };
        SB_TRY(write(0, y, {seq, d2, batch, hidden}, same));
        SB_TRY(write(1, yh, {d2, batch, hidden}, same));
        if (cell == Cell::Lstm)
            SB_TRY(write(2, yc, {d2, batch, hidden}, same));
    }
    return Status::success();
}

} // namespace

void registerReferenceRecurrent(KernelRegistry &r)
{
    addReference(r, "RNN", [](KernelContext &c) { return recurrentKernel(c, Cell::Rnn); });
    addReference(r, "GRU", [](KernelContext &c) { return recurrentKernel(c, Cell::Gru); });
    addReference(r, "LSTM", [](KernelContext &c) { return recurrentKernel(c, Cell::Lstm); });
}

} // namespace sb::kernels
