// inferBoundShapes: ONNX shape inference re-run on the model's structure with
// the symbols bound, folding small int64 shape computations between rounds.
#include "core/graph/bound_shapes.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace sb::graph {

namespace {

struct IntTensor
{
    std::vector<std::int64_t> dims;
    std::vector<std::int64_t> values;
};

constexpr std::size_t kMaxFoldElements = 4096;

std::optional<IntTensor> tensorToInts(const onnx::TensorProto &t)
{
    if (t.data_type() != onnx::TensorProto_DataType_INT64 &&
        t.data_type() != onnx::TensorProto_DataType_INT32)
        return std::nullopt;
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
        return std::nullopt;
    IntTensor out;
    std::int64_t count = 1;
    for (auto d : t.dims()) {
        if (d < 0 || d > static_cast<std::int64_t>(kMaxFoldElements))
            return std::nullopt;
        count *= d;
        out.dims.push_back(d);
        if (count > static_cast<std::int64_t>(kMaxFoldElements))
            return std::nullopt;
    }
    bool is64 = t.data_type() == onnx::TensorProto_DataType_INT64;
    if (t.has_raw_data()) {
        std::size_t width = is64 ? 8 : 4;
        if (t.raw_data().size() != static_cast<std::size_t>(count) * width)
            return std::nullopt;
        for (std::int64_t i = 0; i < count; ++i) {
            if (is64) {
                std::int64_t v;
                std::memcpy(&v, t.raw_data().data() + i * 8, 8);
                out.values.push_back(v);
            } else {
                std::int32_t v;
                std::memcpy(&v, t.raw_data().data() + i * 4, 4);
                out.values.push_back(v);
            }
        }
    } else if (is64) {
        out.values.assign(t.int64_data().begin(), t.int64_data().end());
    } else {
        out.values.assign(t.int32_data().begin(), t.int32_data().end());
    }
    if (static_cast<std::int64_t>(out.values.size()) != count)
        return std::nullopt;
    return out;
}

std::int64_t countOf(const std::vector<std::int64_t> &dims)
{
    std::int64_t c = 1;
    for (auto d : dims)
        c *= d;
    return c;
}

// Evaluates one node on small int64 constants. `constants` holds the folded
// values, `shapes` the concrete shapes inference found.
std::optional<std::vector<IntTensor>>
foldNode(const onnx::NodeProto &node, const std::unordered_map<std::string, IntTensor> &constants,
         const std::unordered_map<std::string, std::vector<std::int64_t>> &shapes, int opset)
{
    if (!node.domain().empty() && node.domain() != "ai.onnx")
        return std::nullopt;
    const std::string &op = node.op_type();
    auto in = [&](int i) -> const IntTensor * {
        if (i >= node.input_size() || node.input(i).empty())
            return nullptr;
        auto it = constants.find(node.input(i));
        return it == constants.end() ? nullptr : &it->second;
    };
    auto intAttr = [&](const char *name, std::int64_t fallback) {
        for (const auto &a : node.attribute())
            if (a.name() == name && a.has_i())
                return a.i();
        return fallback;
    };
    auto intsAttr = [&](const char *name) -> std::optional<std::vector<std::int64_t>> {
        for (const auto &a : node.attribute())
            if (a.name() == name)
                return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
        return std::nullopt;
    };
    auto scalar = [](std::int64_t v) { return IntTensor{{}, {v}}; };
    auto vec = [](std::vector<std::int64_t> v) {
        IntTensor t;
        t.dims = {static_cast<std::int64_t>(v.size())};
        t.values = std::move(v);
        return t;
    };
    auto one = [](IntTensor t) -> std::optional<std::vector<IntTensor>> {
        if (t.values.size() > kMaxFoldElements)
            return std::nullopt;
        return std::vector<IntTensor>{std::move(t)};
    };

    if (op == "Constant") {
        for (const auto &a : node.attribute()) {
            if (a.name() == "value" && a.has_t())
                if (auto t = tensorToInts(a.t()))
                    return one(*t);
            if (a.name() == "value_int")
                return one(scalar(a.i()));
            if (a.name() == "value_ints")
                return one(vec({a.ints().begin(), a.ints().end()}));
        }
        return std::nullopt;
    }
    if (op == "Shape" || op == "Size") {
        if (node.input_size() < 1)
            return std::nullopt;
        auto it = shapes.find(node.input(0));
        if (it == shapes.end())
            return std::nullopt;
        const auto &dims = it->second;
        if (op == "Size")
            return one(scalar(countOf(dims)));
        auto rank = static_cast<std::int64_t>(dims.size());
        std::int64_t start = intAttr("start", 0), end = intAttr("end", rank);
        if (start < 0)
            start += rank;
        if (end < 0)
            end += rank;
        start = std::clamp<std::int64_t>(start, 0, rank);
        end = std::clamp<std::int64_t>(end, start, rank);
        return one(vec({dims.begin() + start, dims.begin() + end}));
    }
    if (op == "Identity") {
        if (const auto *x = in(0))
            return one(*x);
        return std::nullopt;
    }
    if (op == "Cast") {
        const auto *x = in(0);
        std::int64_t to = intAttr("to", 0);
        if (x && (to == onnx::TensorProto_DataType_INT64 || to == onnx::TensorProto_DataType_INT32))
            return one(*x);
        return std::nullopt;
    }
    if (op == "Gather") {
        const auto *data = in(0);
        const auto *indices = in(1);
        if (!data || !indices || data->dims.size() != 1 || intAttr("axis", 0) != 0)
            return std::nullopt;
        IntTensor out;
        out.dims = indices->dims;
        auto n = static_cast<std::int64_t>(data->values.size());
        for (auto i : indices->values) {
            if (i < 0)
                i += n;
            if (i < 0 || i >= n)
                return std::nullopt;
            out.values.push_back(data->values[static_cast<std::size_t>(i)]);
        }
        return one(std::move(out));
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
        const auto *x = in(0);
        if (!x)
            return std::nullopt;
        std::optional<std::vector<std::int64_t>> axes;
        if (opset >= 13) {
            if (const auto *a = in(1))
                axes = a->values;
        } else {
            axes = intsAttr("axes");
        }
        IntTensor out = *x;
        if (op == "Unsqueeze") {
            if (!axes)
                return std::nullopt;
            auto rank = static_cast<std::int64_t>(x->dims.size() + axes->size());
            std::vector<std::int64_t> sorted;
            for (auto a : *axes)
                sorted.push_back(a < 0 ? a + rank : a);
            std::sort(sorted.begin(), sorted.end());
            for (auto a : sorted) {
                if (a < 0 || a > static_cast<std::int64_t>(out.dims.size()))
                    return std::nullopt;
                out.dims.insert(out.dims.begin() + a, 1);
            }
        } else {
            std::vector<std::int64_t> dims;
            auto rank = static_cast<std::int64_t>(x->dims.size());
            for (std::int64_t d = 0; d < rank; ++d) {
                bool drop = false;
                if (!axes)
                    drop = x->dims[static_cast<std::size_t>(d)] == 1;
                else
                    for (auto a : *axes)
                        if ((a < 0 ? a + rank : a) == d)
                            drop = true;
                if (!drop)
                    dims.push_back(x->dims[static_cast<std::size_t>(d)]);
            }
            out.dims = dims;
        }
        return one(std::move(out));
    }
    if (op == "Concat") {
        IntTensor out;
        for (int i = 0; i < node.input_size(); ++i) {
            const auto *x = in(i);
            if (!x || x->dims.size() != 1)
                return std::nullopt;
            out.values.insert(out.values.end(), x->values.begin(), x->values.end());
        }
        out.dims = {static_cast<std::int64_t>(out.values.size())};
        return one(std::move(out));
    }
    if (op == "Slice") {
        const auto *x = in(0);
        if (!x || x->dims.size() != 1)
            return std::nullopt;
        std::int64_t start = 0, end = 0, step = 1;
        if (opset >= 10) {
            const auto *s = in(1), *e = in(2), *st = in(4);
            if (!s || !e || s->values.size() != 1 || e->values.size() != 1)
                return std::nullopt;
            start = s->values[0];
            end = e->values[0];
            if (st) {
                if (st->values.size() != 1)
                    return std::nullopt;
                step = st->values[0];
            }
        } else {
            auto s = intsAttr("starts"), e = intsAttr("ends");
            if (!s || !e || s->size() != 1 || e->size() != 1)
                return std::nullopt;
            start = (*s)[0];
            end = (*e)[0];
        }
        if (step <= 0)
            return std::nullopt; // reverse slices do not occur in shape code
        auto n = static_cast<std::int64_t>(x->values.size());
        if (start < 0)
            start += n;
        if (end < 0)
            end += n;
        start = std::clamp<std::int64_t>(start, 0, n);
        end = std::clamp<std::int64_t>(end, 0, n);
        std::vector<std::int64_t> v;
        for (std::int64_t i = start; i < end; i += step)
            v.push_back(x->values[static_cast<std::size_t>(i)]);
        return one(vec(std::move(v)));
    }
    if (op == "Range") {
        const auto *s = in(0), *l = in(1), *d = in(2);
        if (!s || !l || !d || s->values.size() != 1 || l->values.size() != 1 ||
            d->values.size() != 1 || d->values[0] == 0)
            return std::nullopt;
        std::int64_t start = s->values[0], limit = l->values[0], delta = d->values[0];
        std::int64_t n =
            std::max<std::int64_t>(0, (limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
        if (n > static_cast<std::int64_t>(kMaxFoldElements))
            return std::nullopt;
        std::vector<std::int64_t> v;
        for (std::int64_t i = 0; i < n; ++i)
            v.push_back(start + i * delta);
        return one(vec(std::move(v)));
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        const auto *a = in(0), *b = in(1);
        if (!a || !b)
            return std::nullopt;
        const IntTensor *big = a->values.size() >= b->values.size() ? a : b;
        if (a->values.size() != b->values.size() && a->values.size() != 1 && b->values.size() != 1)
            return std::nullopt;
        IntTensor out;
        out.dims = big->dims.size() >= (big == a ? b : a)->dims.size() ? big->dims
                                                                       : (big == a ? b : a)->dims;
        for (std::size_t i = 0; i < big->values.size(); ++i) {
            std::int64_t x = a->values[a->values.size() == 1 ? 0 : i];
            std::int64_t y = b->values[b->values.size() == 1 ? 0 : i];
            if (op == "Add")
                out.values.push_back(x + y);
            else if (op == "Sub")
                out.values.push_back(x - y);
            else if (op == "Mul")
                out.values.push_back(x * y);
            else {
                if (y == 0)
                    return std::nullopt;
                out.values.push_back(x / y);
            }
        }
        if (countOf(out.dims) != static_cast<std::int64_t>(out.values.size()))
            return std::nullopt;
        return one(std::move(out));
    }
    if (op == "Reshape") {
        const auto *x = in(0), *shape = in(1);
        if (!x || !shape)
            return std::nullopt;
        std::vector<std::int64_t> dims = shape->values;
        std::int64_t known = 1;
        int inferred = -1;
        for (std::size_t i = 0; i < dims.size(); ++i) {
            if (dims[i] == 0 && i < x->dims.size())
                dims[i] = x->dims[i];
            if (dims[i] == -1) {
                if (inferred >= 0)
                    return std::nullopt;
                inferred = static_cast<int>(i);
            } else if (dims[i] < 0) {
                return std::nullopt;
            } else {
                known *= dims[i];
            }
        }
        auto total = static_cast<std::int64_t>(x->values.size());
        if (inferred >= 0) {
            if (known == 0 || total % known)
                return std::nullopt;
            dims[static_cast<std::size_t>(inferred)] = total / known;
        } else if (known != total) {
            return std::nullopt;
        }
        return one(IntTensor{dims, x->values});
    }
    return std::nullopt;
}

void collectShapes(const onnx::GraphProto &g,
                   std::unordered_map<std::string, std::vector<std::int64_t>> &shapes)
{
    auto add = [&](const onnx::ValueInfoProto &info) {
        if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
            return;
        std::vector<std::int64_t> dims;
        for (const auto &d : info.type().tensor_type().shape().dim()) {
            if (!d.has_dim_value() || d.dim_value() < 0)
                return;
            dims.push_back(d.dim_value());
        }
        shapes[info.name()] = std::move(dims);
    };
    for (const auto &v : g.input())
        add(v);
    for (const auto &v : g.value_info())
        add(v);
    for (const auto &v : g.output())
        add(v);
    for (const auto &t : g.initializer())
        shapes[t.name()] = std::vector<std::int64_t>(t.dims().begin(), t.dims().end());
}

Result<BoundShapes> inferBoundShapesImpl(const Graph &graph,
                                         const std::map<std::string, std::int64_t> &symbols)
{
    BoundShapes result(graph.values().size());
    auto model = std::static_pointer_cast<const onnx::ModelProto>(graph.sourceModel);
    if (!model) {
        for (std::size_t i = 0; i < graph.values().size(); ++i) {
            const Shape &shape = graph.values()[i].info.shape;
            if (shape.isFullyKnown()) {
                std::vector<std::int64_t> dims;
                for (const auto &d : shape.dims)
                    dims.push_back(d.value);
                result[i] = std::move(dims);
            }
        }
        return result;
    }
    int opset = 1;
    for (const auto &o : model->opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx")
            opset = static_cast<int>(std::clamp<std::int64_t>(o.version(), 1, INT_MAX));

    // Structure only: small integer initializers keep their data (shape
    // computations read them); weights keep name, type and dims.
    onnx::ModelProto skeleton;
    skeleton.set_ir_version(model->ir_version());
    *skeleton.mutable_opset_import() = model->opset_import();
    const onnx::GraphProto &source = model->graph();
    onnx::GraphProto &g = *skeleton.mutable_graph();
    *g.mutable_node() = source.node();
    for (const auto &init : source.initializer()) {
        auto *t = g.add_initializer();
        if (tensorToInts(init)) {
            *t = init;
        } else {
            t->set_name(init.name());
            t->set_data_type(init.data_type());
            *t->mutable_dims() = init.dims();
        }
    }
    for (const auto &input : source.input()) {
        auto *v = g.add_input();
        *v = input;
        if (v->type().has_tensor_type() && v->type().tensor_type().has_shape())
            for (auto &dim :
                 *v->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim())
                if (dim.has_dim_param())
                    if (auto it = symbols.find(dim.dim_param()); it != symbols.end())
                        dim.set_dim_value(it->second);
    }
    for (const auto &output : source.output()) {
        auto *v = g.add_output();
        v->set_name(output.name());
        if (output.type().has_tensor_type())
            v->mutable_type()->mutable_tensor_type()->set_elem_type(
                output.type().tensor_type().elem_type());
    }

    std::unordered_map<std::string, IntTensor> constants;
    for (const auto &init : g.initializer())
        if (auto t = tensorToInts(init))
            constants[init.name()] = std::move(*t);
    std::unordered_map<std::string, std::vector<std::int64_t>> shapes;
    onnx::ShapeInferenceOptions options(false, 0, true);
    for (int round = 0; round < 8; ++round) {
        onnx::ModelProto work = skeleton;
        try {
            onnx::shape_inference::InferShapes(work, onnx::OpSchemaRegistry::Instance(), options);
        } catch (const std::exception &) {
            // Keep whatever inference recorded before it stopped.
        }
        shapes.clear();
        collectShapes(work.graph(), shapes);
        // Fold what is now computable; replace folded nodes by initializers.
        std::vector<int> folded;
        for (int i = 0; i < g.node_size(); ++i) {
            const auto &node = g.node(i);
            if (node.output_size() != 1 || node.output(0).empty())
                continue;
            auto outputs = foldNode(node, constants, shapes, opset);
            if (!outputs)
                continue;
            constants[node.output(0)] = outputs->front();
            folded.push_back(i);
        }
        if (folded.empty())
            break;
        std::unordered_set<int> drop(folded.begin(), folded.end());
        google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
        for (int i = 0; i < g.node_size(); ++i)
            if (!drop.count(i))
                *kept.Add() = g.node(i);
        for (int i : folded) {
            const std::string &name = g.node(i).output(0);
            const IntTensor &value = constants[name];
            auto *t = g.add_initializer();
            t->set_name(name);
            t->set_data_type(onnx::TensorProto_DataType_INT64);
            for (auto d : value.dims)
                t->add_dims(d);
            for (auto v : value.values)
                t->add_int64_data(v);
        }
        g.mutable_node()->Swap(&kept);
    }
    for (std::size_t i = 0; i < graph.values().size(); ++i) {
        auto it = shapes.find(graph.values()[i].name);
        if (it != shapes.end())
            result[i] = it->second;
    }
    return result;
}

} // namespace

Result<BoundShapes> inferBoundShapes(const Graph &graph,
                                     const std::map<std::string, std::int64_t> &symbols)
{
    try {
        return inferBoundShapesImpl(graph, symbols);
    } catch (const std::exception &e) {
        return makeError(ErrorCode::Internal, std::string("shape inference failed: ") + e.what());
    }
}

} // namespace sb::graph
