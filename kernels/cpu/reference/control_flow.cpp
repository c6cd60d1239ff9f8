// Reference kernels for control flow and the sequence/optional values it
// carries: If, Loop, Scan and SequenceMap run their bodies through the
// executor (KernelContext::subgraphs(), one executor and memory plan per
// body); SequenceEmpty/Construct/At/Insert/Erase/Length, SplitToSequence,
// ConcatFromSequence and Optional/OptionalHasElement/OptionalGetElement
// build and take apart Tensor values of kind Sequence/Optional.
//
// Sequence elements are always owned tensors (clones of the inputs), never
// views of the executor's arena, so sequence handles can be shared freely.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cstring>

namespace sb::kernels {

namespace {

using graph::ValueKind;

// ---- tensor helpers

// The slice of `t` at `index` along `axis`, without that axis (a copy).
Tensor sliceAlong(const Tensor &t, std::size_t axis, std::int64_t index)
{
    Shape shape = t.shape();
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= shape[d];
    for (std::size_t d = axis + 1; d < shape.size(); ++d)
        inner *= shape[d];
    const std::size_t bytes = graph::elementSize(t.type());
    const std::int64_t length = shape[axis];
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
    Tensor out = Tensor::empty(t.type(), shape);
    const auto *src = static_cast<const char *>(t.data());
    auto *dst = static_cast<char *>(out.data());
    const std::size_t row = static_cast<std::size_t>(inner) * bytes;
    for (std::int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + static_cast<std::size_t>(o) * row,
                    src + static_cast<std::size_t>((o * length + index) * inner) * bytes, row);
    return out;
}

// Joins `parts` along `axis` (all the same type and rank, equal off the
// axis); with `newAxis` each part first gets a dim of 1 inserted at `axis`.
Result<Tensor> joinAlong(KernelContext &ctx, const std::vector<Tensor> &parts, std::int64_t axis,
                         bool newAxis)
{
    if (parts.empty())
        return ctx.invalid("nothing to concatenate");
    const Tensor &first = parts.front();
    const auto rank = static_cast<std::int64_t>(first.rank()) + (newAxis ? 1 : 0);
    auto normalized = normalizeAxis(axis, rank);
    if (!normalized)
        return ctx.invalid("axis " + std::to_string(axis) + " is out of range for rank " +
                           std::to_string(rank));
    const auto a = static_cast<std::size_t>(*normalized);
    auto partShape = [&](const Tensor &t) {
        Shape shape = t.shape();
        if (newAxis)
            shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(a), 1);
        return shape;
    };
    Shape shape = partShape(first);
    shape[a] = 0;
    for (const Tensor &t : parts) {
        Shape s = partShape(t);
        if (!t.isTensor() || t.type() != first.type() || s.size() != shape.size())
            return ctx.invalid("elements differ in type or rank");
        for (std::size_t d = 0; d < s.size(); ++d)
            if (d != a && s[d] != shape[d])
                return ctx.invalid("element shapes " + runtime::shapeToString(t.shape()) + " and " +
                                   runtime::shapeToString(first.shape()) + " differ off the axis");
        shape[a] += s[a];
    }
    const std::size_t bytes = graph::elementSize(first.type());
    if (bytes == 0)
        return ctx.unsupported("element type " + typeName(first.type()));
    Tensor out = Tensor::empty(first.type(), shape);
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d)
        outer *= shape[d];
    for (std::size_t d = a + 1; d < shape.size(); ++d)
        inner *= shape[d];
    auto *dst = static_cast<char *>(out.data());
    const auto outRow = static_cast<std::size_t>(shape[a] * inner) * bytes;
    std::size_t offset = 0;
    for (const Tensor &t : parts) {
        const auto length = partShape(t)[a];
        const auto row = static_cast<std::size_t>(length * inner) * bytes;
        const auto *src = static_cast<const char *>(t.data());
        for (std::int64_t o = 0; o < outer; ++o)
            std::memcpy(dst + static_cast<std::size_t>(o) * outRow + offset,
                        src + static_cast<std::size_t>(o) * row, row);
        offset += row;
    }
    return out;
}

// The scalar at `i` as an index into a sequence of `size` elements
// (negative counts from the end); `allowEnd` accepts `size` (insert).
Result<std::size_t> sequenceIndex(KernelContext &ctx, const Tensor &position, std::size_t size,
                                  bool allowEnd)
{
    if (position.elementCount() != 1)
        return ctx.invalid("position must be a scalar");
    std::int64_t p = position.scalarAsInt();
    const auto n = static_cast<std::int64_t>(size);
    if (p < 0)
        p += n;
    if (p < 0 || p > n || (p == n && !allowEnd))
        return ctx.invalid("position " + std::to_string(position.scalarAsInt()) +
                           " is out of range for a sequence of " + std::to_string(size));
    return static_cast<std::size_t>(p);
}

Result<const Tensor *> sequenceInput(KernelContext &ctx, std::size_t i)
{
    if (!ctx.hasInput(i) || ctx.input(i).kind() != ValueKind::Sequence)
        return ctx.invalid("input " + std::to_string(i) + " is not a sequence");
    return &ctx.input(i);
}

bool truthy(const Tensor &t)
{
    return t.isTensor() && t.elementCount() >= 1 && t.scalarAsInt() != 0;
}

// ---- sequences

Status sequenceEmptyKernel(KernelContext &ctx)
{
    auto type = static_cast<ElementType>(
        ctx.node().intAttr("dtype", static_cast<std::int64_t>(ElementType::Float32)));
    ctx.setOutput(0, Tensor::sequence(type, {}));
    return Status::success();
}

Status sequenceConstructKernel(KernelContext &ctx)
{
    std::vector<Tensor> elements;
    ElementType type = ElementType::Undefined;
    for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
        if (!ctx.hasInput(i) || !ctx.input(i).isTensor())
            return ctx.invalid("input " + std::to_string(i) + " is not a tensor");
        if (type != ElementType::Undefined && ctx.input(i).type() != type)
            return ctx.invalid("inputs differ in element type");
        type = ctx.input(i).type();
        elements.push_back(ctx.input(i).clone());
    }
    ctx.setOutput(0, Tensor::sequence(type, std::move(elements)));
    return Status::success();
}

Status sequenceAtKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(const Tensor *seq, sequenceInput(ctx, 0));
    SB_ASSIGN_OR_RETURN(std::size_t at,
                        sequenceIndex(ctx, ctx.input(1), seq->elements().size(), false));
    ctx.setOutput(0, seq->elements()[at].clone());
    return Status::success();
}

Status sequenceInsertKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(const Tensor *seq, sequenceInput(ctx, 0));
    const Tensor &item = ctx.input(1);
    if (!item.isTensor())
        return ctx.invalid("the inserted value is not a tensor");
    if (!seq->elements().empty() && item.type() != seq->type())
        return ctx.invalid("inserting a " + typeName(item.type()) + " tensor into a sequence of " +
                           typeName(seq->type()));
    std::vector<Tensor> elements = seq->elements();
    std::size_t at = elements.size();
    if (ctx.hasInput(2)) {
        SB_ASSIGN_OR_RETURN(at, sequenceIndex(ctx, ctx.input(2), elements.size(), true));
    }
    elements.insert(elements.begin() + static_cast<std::ptrdiff_t>(at), item.clone());
    ctx.setOutput(0, Tensor::sequence(item.type(), std::move(elements)));
    return Status::success();
}

Status sequenceEraseKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(const Tensor *seq, sequenceInput(ctx, 0));
    std::vector<Tensor> elements = seq->elements();
    if (elements.empty())
        return ctx.invalid("erasing from an empty sequence");
    std::size_t at = elements.size() - 1;
    if (ctx.hasInput(1)) {
        SB_ASSIGN_OR_RETURN(at, sequenceIndex(ctx, ctx.input(1), elements.size(), false));
    }
    elements.erase(elements.begin() + static_cast<std::ptrdiff_t>(at));
    ctx.setOutput(0, Tensor::sequence(seq->type(), std::move(elements)));
    return Status::success();
}

Status sequenceLengthKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(const Tensor *seq, sequenceInput(ctx, 0));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, {}));
    *out->as<std::int64_t>() = static_cast<std::int64_t>(seq->elements().size());
    return Status::success();
}

Status splitToSequenceKernel(KernelContext &ctx)
{
    const Tensor &input = ctx.input(0);
    const auto rank = static_cast<std::int64_t>(input.rank());
    auto axisOpt = normalizeAxis(ctx.node().intAttr("axis", 0), rank);
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    const auto axis = static_cast<std::size_t>(*axisOpt);
    const std::int64_t length = input.dim(axis);
    std::vector<std::int64_t> sizes;
    bool squeeze = false;
    if (!ctx.hasInput(1)) {
        sizes.assign(static_cast<std::size_t>(length), 1);
        squeeze = ctx.node().intAttr("keepdims", 1) == 0;
    } else if (ctx.input(1).rank() == 0) {
        const std::int64_t chunk = ctx.input(1).scalarAsInt();
        if (chunk <= 0)
            return ctx.invalid("split must be positive");
        for (std::int64_t at = 0; at < length; at += chunk)
            sizes.push_back(std::min(chunk, length - at));
    } else {
        sizes = ctx.input(1).toInt64Vector();
        std::int64_t total = 0;
        for (std::int64_t s : sizes) {
            if (s < 0)
                return ctx.invalid("split sizes must not be negative");
            total += s;
        }
        if (total != length)
            return ctx.invalid("split sizes add up to " + std::to_string(total) +
                               ", the axis has " + std::to_string(length));
    }
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= input.dim(d);
    for (std::size_t d = axis + 1; d < input.rank(); ++d)
        inner *= input.dim(d);
    const std::size_t bytes = graph::elementSize(input.type());
    if (bytes == 0)
        return ctx.unsupported("element type " + typeName(input.type()));
    std::vector<Tensor> elements;
    std::int64_t start = 0;
    const auto *src = static_cast<const char *>(input.data());
    for (std::int64_t size : sizes) {
        Shape shape = input.shape();
        shape[axis] = size;
        Tensor part = Tensor::empty(input.type(), shape);
        const auto row = static_cast<std::size_t>(size * inner) * bytes;
        for (std::int64_t o = 0; o < outer; ++o)
            std::memcpy(static_cast<char *>(part.data()) + static_cast<std::size_t>(o) * row,
                        src + static_cast<std::size_t>((o * length + start) * inner) * bytes, row);
        if (squeeze) {
            shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
            part = part.reshaped(shape);
        }
        elements.push_back(std::move(part));
        start += size;
    }
    ctx.setOutput(0, Tensor::sequence(input.type(), std::move(elements)));
    return Status::success();
}

Status concatFromSequenceKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(const Tensor *seq, sequenceInput(ctx, 0));
    if (!ctx.node().attribute("axis"))
        return ctx.invalid("attribute 'axis' is required");
    SB_ASSIGN_OR_RETURN(Tensor joined,
                        joinAlong(ctx, seq->elements(), ctx.node().intAttr("axis", 0),
                                  ctx.node().intAttr("new_axis", 0) != 0));
    ctx.setOutput(0, std::move(joined));
    return Status::success();
}

// ---- optionals

Status optionalKernel(KernelContext &ctx)
{
    if (ctx.hasInput(0)) {
        const Tensor &element = ctx.input(0);
        ctx.setOutput(0, Tensor::optional(element.type(), element.clone()));
        return Status::success();
    }
    const graph::Attribute *type = ctx.node().attribute("type");
    if (!type || type->kind != graph::Attribute::Kind::Type)
        return ctx.invalid("an Optional without input needs the 'type' attribute");
    ctx.setOutput(0, Tensor::optional(type->type.type, Tensor(), type->type.kind));
    return Status::success();
}

Status optionalHasElementKernel(KernelContext &ctx)
{
    bool has = false;
    if (ctx.hasInput(0)) {
        const Tensor &in = ctx.input(0);
        has = in.kind() != ValueKind::Optional || !in.elements().empty();
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Bool, {}));
    *out->as<std::uint8_t>() = has ? 1 : 0;
    return Status::success();
}

Status optionalGetElementKernel(KernelContext &ctx)
{
    const Tensor &in = ctx.input(0);
    if (in.kind() != ValueKind::Optional) { // opset 18: a tensor or sequence passes through
        ctx.setOutput(0, in.isTensor() ? in.clone() : in);
        return Status::success();
    }
    if (in.elements().empty())
        return ctx.invalid("the optional input holds no element");
    const Tensor &element = in.elements().front();
    ctx.setOutput(0, element.isTensor() ? element.clone() : element);
    return Status::success();
}

// ---- control flow

const graph::Graph *graphAttr(KernelContext &ctx, const char *name)
{
    const graph::Attribute *attr = ctx.node().attribute(name);
    return attr && attr->kind == graph::Attribute::Kind::Graph ? attr->graph.get() : nullptr;
}

Result<runtime::SubgraphRunner *> runnerOf(KernelContext &ctx)
{
    if (!ctx.subgraphs())
        return ctx.unsupported("running subgraphs here (no subgraph runner)");
    return ctx.subgraphs();
}

Status setOutputs(KernelContext &ctx, std::vector<Tensor> values, std::size_t from = 0)
{
    for (std::size_t o = 0; o < ctx.outputCount(); ++o) {
        if (from + o >= values.size())
            return ctx.invalid("the subgraph gives " + std::to_string(values.size() - from) +
                               " outputs for " + std::to_string(ctx.outputCount()));
        ctx.setOutput(o, std::move(values[from + o]));
    }
    return Status::success();
}

Status ifKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(runtime::SubgraphRunner * runner, runnerOf(ctx));
    if (!ctx.input(0).isTensor() || ctx.input(0).elementCount() != 1)
        return ctx.invalid("cond must hold one element");
    const graph::Graph *branch =
        graphAttr(ctx, truthy(ctx.input(0)) ? "then_branch" : "else_branch");
    if (!branch)
        return ctx.invalid("missing then_branch/else_branch");
    SB_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runner->run(*branch, {}));
    return setOutputs(ctx, std::move(outputs));
}

// Stacks the per-iteration values of one scan output along `axis` (reversed
// when `reverse`); with no iterations, an empty tensor of the body's declared
// element type and shape.
Result<Tensor> stackScanOutput(KernelContext &ctx, std::vector<Tensor> &parts,
                               const graph::TensorInfo &declared, std::int64_t axis, bool reverse)
{
    if (parts.empty()) {
        Shape shape{0};
        if (declared.shape.isFullyKnown())
            for (const auto &dim : declared.shape.dims)
                shape.push_back(dim.value);
        ElementType type =
            declared.type == ElementType::Undefined ? ElementType::Float32 : declared.type;
        return Tensor::empty(type, shape);
    }
    if (reverse)
        std::reverse(parts.begin(), parts.end());
    return joinAlong(ctx, parts, axis, true);
}

Status loopKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(runtime::SubgraphRunner * runner, runnerOf(ctx));
    const graph::Graph *body = graphAttr(ctx, "body");
    if (!body)
        return ctx.invalid("missing 'body'");
    const std::size_t carried = ctx.inputCount() >= 2 ? ctx.inputCount() - 2 : 0;
    if (body->inputs().size() != carried + 2)
        return ctx.invalid("the body takes " + std::to_string(body->inputs().size()) +
                           " inputs, the loop carries " + std::to_string(carried) + " + 2");
    if (body->outputs().size() < carried + 1)
        return ctx.invalid("the body has fewer outputs than cond + loop-carried values");
    const std::size_t scans = body->outputs().size() - 1 - carried;
    std::int64_t tripCount = -1;
    if (ctx.hasInput(0)) {
        if (ctx.input(0).elementCount() != 1)
            return ctx.invalid("M must be a scalar");
        tripCount = ctx.input(0).scalarAsInt();
    }
    bool cond = true;
    if (ctx.hasInput(1)) {
        if (ctx.input(1).elementCount() != 1)
            return ctx.invalid("cond must be a scalar");
        cond = truthy(ctx.input(1));
    }
    std::vector<Tensor> values;
    for (std::size_t i = 0; i < carried; ++i) {
        if (!ctx.hasInput(2 + i))
            return ctx.invalid("loop-carried input " + std::to_string(i) + " is missing");
        values.push_back(ctx.input(2 + i));
    }
    std::vector<std::vector<Tensor>> scanParts(scans);
    for (std::int64_t iteration = 0; (tripCount < 0 || iteration < tripCount) && cond;
         ++iteration) {
        if (tripCount < 0 && !ctx.hasInput(1))
            return ctx.invalid("a loop with neither M nor cond never ends");
        std::vector<Tensor> inputs;
        inputs.push_back(Tensor::fromVector<std::int64_t>(ElementType::Int64, {}, {iteration}));
        inputs.push_back(Tensor::fromVector<std::uint8_t>(ElementType::Bool, {}, {1}));
        inputs.insert(inputs.end(), values.begin(), values.end());
        SB_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runner->run(*body, inputs));
        cond = truthy(outputs[0]);
        for (std::size_t i = 0; i < carried; ++i)
            values[i] = std::move(outputs[1 + i]);
        for (std::size_t k = 0; k < scans; ++k)
            scanParts[k].push_back(std::move(outputs[1 + carried + k]));
    }
    for (std::size_t i = 0; i < carried && i < ctx.outputCount(); ++i)
        ctx.setOutput(i, values[i].isTensor() ? values[i].clone() : values[i]);
    for (std::size_t k = 0; k < scans && carried + k < ctx.outputCount(); ++k) {
        const graph::TensorInfo &declared = body->value(body->outputs()[1 + carried + k]).info;
        SB_ASSIGN_OR_RETURN(Tensor stacked, stackScanOutput(ctx, scanParts[k], declared, 0, false));
        ctx.setOutput(carried + k, std::move(stacked));
    }
    return Status::success();
}

// Scan (opset 9+): N state variables, M scan inputs sliced along their scan
// axes, K scan outputs stacked along theirs.
Status scanSequence(KernelContext &ctx, runtime::SubgraphRunner &runner, const graph::Graph &body,
                    const std::vector<Tensor> &initial, const std::vector<const Tensor *> &scanIns,
                    std::vector<Tensor> &finalStates, std::vector<Tensor> &scanOuts)
{
    const std::size_t states = initial.size();
    const std::size_t m = scanIns.size();
    const std::size_t k = body.outputs().size() - states;
    auto ints = [&](const char *name, std::size_t count) {
        std::vector<std::int64_t> v = ctx.node().intsAttr(name);
        v.resize(count, 0);
        return v;
    };
    const bool opset8 = ctx.opset() < 9;
    const auto inDirections = ints(opset8 ? "directions" : "scan_input_directions", m);
    const auto inAxes = opset8 ? std::vector<std::int64_t>(m, 0) : ints("scan_input_axes", m);
    const auto outDirections = ints("scan_output_directions", k);
    const auto outAxes = opset8 ? std::vector<std::int64_t>(k, 0) : ints("scan_output_axes", k);
    std::int64_t length = -1;
    std::vector<std::size_t> axes(m);
    for (std::size_t j = 0; j < m; ++j) {
        auto axis = normalizeAxis(inAxes[j], static_cast<std::int64_t>(scanIns[j]->rank()));
        if (!axis)
            return ctx.invalid("scan_input_axes[" + std::to_string(j) + "] is out of range");
        axes[j] = static_cast<std::size_t>(*axis);
        const std::int64_t len = scanIns[j]->dim(axes[j]);
        if (length >= 0 && len != length)
            return ctx.invalid("scan inputs differ in sequence length");
        length = len;
    }
    if (length < 0)
        return ctx.invalid("Scan needs at least one scan input");
    std::vector<Tensor> values = initial;
    std::vector<std::vector<Tensor>> parts(k);
    for (std::int64_t t = 0; t < length; ++t) {
        std::vector<Tensor> inputs = values;
        for (std::size_t j = 0; j < m; ++j)
            inputs.push_back(
                sliceAlong(*scanIns[j], axes[j], inDirections[j] ? length - 1 - t : t));
        SB_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runner.run(body, inputs));
        for (std::size_t i = 0; i < states; ++i)
            values[i] = std::move(outputs[i]);
        for (std::size_t o = 0; o < k; ++o)
            parts[o].push_back(std::move(outputs[states + o]));
    }
    finalStates = std::move(values);
    scanOuts.clear();
    for (std::size_t o = 0; o < k; ++o) {
        const graph::TensorInfo &declared = body.value(body.outputs()[states + o]).info;
        const auto rank = static_cast<std::int64_t>(parts[o].empty() ? declared.shape.rank()
                                                                     : parts[o].front().rank());
        auto axis = normalizeAxis(outAxes[o], rank + 1);
        if (!axis)
            return ctx.invalid("scan_output_axes[" + std::to_string(o) + "] is out of range");
        SB_ASSIGN_OR_RETURN(Tensor stacked,
                            stackScanOutput(ctx, parts[o], declared, *axis, outDirections[o] != 0));
        scanOuts.push_back(std::move(stacked));
    }
    return Status::success();
}

Status scanKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(runtime::SubgraphRunner * runner, runnerOf(ctx));
    const graph::Graph *body = graphAttr(ctx, "body");
    if (!body)
        return ctx.invalid("missing 'body'");
    const auto m = static_cast<std::size_t>(ctx.node().intAttr("num_scan_inputs", 0));
    const bool opset8 = ctx.opset() < 9;
    const std::size_t first = opset8 ? 1 : 0; // opset 8: sequence_lens comes first
    if (m == 0 || ctx.inputCount() < first + m)
        return ctx.invalid("num_scan_inputs does not match the inputs");
    const std::size_t states = ctx.inputCount() - first - m;
    if (body->inputs().size() != states + m || body->outputs().size() < states)
        return ctx.invalid("the body's inputs/outputs do not match the state and scan values");
    if (!opset8) {
        std::vector<Tensor> initial;
        std::vector<const Tensor *> scanIns;
        for (std::size_t i = 0; i < states; ++i)
            initial.push_back(ctx.input(i));
        for (std::size_t j = 0; j < m; ++j)
            scanIns.push_back(&ctx.input(states + j));
        std::vector<Tensor> finalStates, scanOuts;
        SB_TRY(scanSequence(ctx, *runner, *body, initial, scanIns, finalStates, scanOuts));
        for (auto &s : finalStates)
            s = s.clone();
        finalStates.insert(finalStates.end(), scanOuts.begin(), scanOuts.end());
        return setOutputs(ctx, std::move(finalStates));
    }
    // Opset 8: every value has a leading batch axis; each batch entry is one
    // scan over axis 1 (axis 0 once the batch entry is taken).
    std::int64_t batch = -1;
    for (std::size_t i = first; i < ctx.inputCount(); ++i) {
        if (ctx.input(i).rank() == 0)
            return ctx.invalid("opset-8 Scan values need a batch axis");
        if (batch >= 0 && ctx.input(i).dim(0) != batch)
            return ctx.invalid("inputs differ in batch size");
        batch = ctx.input(i).dim(0);
    }
    std::vector<std::vector<Tensor>> perBatch(ctx.outputCount());
    for (std::int64_t b = 0; b < batch; ++b) {
        std::vector<Tensor> initial, slices;
        std::vector<const Tensor *> scanIns;
        for (std::size_t i = 0; i < states; ++i)
            initial.push_back(sliceAlong(ctx.input(first + i), 0, b));
        for (std::size_t j = 0; j < m; ++j)
            slices.push_back(sliceAlong(ctx.input(first + states + j), 0, b));
        if (ctx.hasInput(0)) {
            const std::int64_t len = ctx.input(0).scalarAsInt(b);
            for (const Tensor &s : slices)
                if (s.dim(0) != len)
                    return ctx.unsupported("sequence_lens shorter than the scan inputs");
        }
        for (const Tensor &s : slices)
            scanIns.push_back(&s);
        std::vector<Tensor> finalStates, scanOuts;
        SB_TRY(scanSequence(ctx, *runner, *body, initial, scanIns, finalStates, scanOuts));
        finalStates.insert(finalStates.end(), scanOuts.begin(), scanOuts.end());
        for (std::size_t o = 0; o < perBatch.size() && o < finalStates.size(); ++o)
            perBatch[o].push_back(std::move(finalStates[o]));
    }
    for (std::size_t o = 0; o < perBatch.size(); ++o) {
        if (perBatch[o].empty())
            return ctx.unsupported("an empty batch");
        SB_ASSIGN_OR_RETURN(Tensor stacked, joinAlong(ctx, perBatch[o], 0, true));
        ctx.setOutput(o, std::move(stacked));
    }
    return Status::success();
}

Status sequenceMapKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(runtime::SubgraphRunner * runner, runnerOf(ctx));
    const graph::Graph *body = graphAttr(ctx, "body");
    if (!body)
        return ctx.invalid("missing 'body'");
    SB_ASSIGN_OR_RETURN(const Tensor *seq, sequenceInput(ctx, 0));
    const std::size_t length = seq->elements().size();
    for (std::size_t i = 1; i < ctx.inputCount(); ++i)
        if (ctx.hasInput(i) && ctx.input(i).kind() == ValueKind::Sequence &&
            ctx.input(i).elements().size() != length)
            return ctx.invalid("input sequences differ in length");
    std::vector<std::vector<Tensor>> outs(body->outputs().size());
    for (std::size_t t = 0; t < length; ++t) {
        std::vector<Tensor> inputs;
        for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
            const Tensor &in = ctx.input(i);
            inputs.push_back(in.kind() == ValueKind::Sequence ? in.elements()[t] : in);
        }
        SB_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runner->run(*body, inputs));
        for (std::size_t o = 0; o < outs.size(); ++o)
            outs[o].push_back(std::move(outputs[o]));
    }
    for (std::size_t o = 0; o < outs.size() && o < ctx.outputCount(); ++o) {
        ElementType type =
            outs[o].empty() ? body->value(body->outputs()[o]).info.type : outs[o].front().type();
        ctx.setOutput(o, Tensor::sequence(type, std::move(outs[o])));
    }
    return Status::success();
}

} // namespace

void registerReferenceControlFlow(KernelRegistry &r)
{
    addValueReference(r, "If", ifKernel);
    addValueReference(r, "Loop", loopKernel);
    addValueReference(r, "Scan", scanKernel);
    addValueReference(r, "SequenceMap", sequenceMapKernel);
    addValueReference(r, "SequenceEmpty", sequenceEmptyKernel);
    addValueReference(r, "SequenceConstruct", sequenceConstructKernel);
    addValueReference(r, "SequenceAt", sequenceAtKernel);
    addValueReference(r, "SequenceInsert", sequenceInsertKernel);
    addValueReference(r, "SequenceErase", sequenceEraseKernel);
    addValueReference(r, "SequenceLength", sequenceLengthKernel);
    addValueReference(r, "SplitToSequence", splitToSequenceKernel);
    addValueReference(r, "ConcatFromSequence", concatFromSequenceKernel);
    addValueReference(r, "Optional", optionalKernel);
    addValueReference(r, "OptionalHasElement", optionalHasElementKernel);
    addValueReference(r, "OptionalGetElement", optionalGetElementKernel);
}

} // namespace sb::kernels
