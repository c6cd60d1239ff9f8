// Test-only helpers that build small ONNX models with libonnx's protobuf
// types (the production headers never expose them).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

namespace sbtest {

using DimSpec = std::variant<std::int64_t, std::string>;

inline void setTensorType(onnx::ValueInfoProto *info, int elemType, std::vector<DimSpec> dims,
                          bool withShape = true)
{
    auto *tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(elemType);
    if (!withShape)
        return;
    auto *shape = tensor->mutable_shape();
    for (const auto &d : dims) {
        auto *dim = shape->add_dim();
        if (std::holds_alternative<std::int64_t>(d))
            dim->set_dim_value(std::get<std::int64_t>(d));
        else
            dim->set_dim_param(std::get<std::string>(d));
    }
}

class ModelBuilder
{
public:
    explicit ModelBuilder(int opset = 17)
    {
        m_model.set_ir_version(8);
        m_model.set_producer_name("shardbench-test");
        auto *op = m_model.add_opset_import();
        op->set_domain("");
        op->set_version(opset);
        m_model.mutable_graph()->set_name("test");
    }

    onnx::GraphProto *graph() { return m_model.mutable_graph(); }
    onnx::ModelProto &model() { return m_model; }

    ModelBuilder &input(const std::string &name, std::vector<DimSpec> dims,
                        int type = onnx::TensorProto_DataType_FLOAT)
    {
        setTensorType(graph()->add_input(), type, std::move(dims));
        graph()->mutable_input()->rbegin()->set_name(name);
        return *this;
    }
    // An output without a declared shape: what shape inference finds is what we get.
    ModelBuilder &output(const std::string &name, int type = onnx::TensorProto_DataType_FLOAT)
    {
        auto *out = graph()->add_output();
        out->set_name(name);
        setTensorType(out, type, {}, false);
        return *this;
    }
    onnx::NodeProto *node(const std::string &op, std::vector<std::string> inputs,
                          std::vector<std::string> outputs, const std::string &name = {})
    {
        auto *n = graph()->add_node();
        n->set_op_type(op);
        if (!name.empty())
            n->set_name(name);
        for (auto &i : inputs)
            n->add_input(i);
        for (auto &o : outputs)
            n->add_output(o);
        return n;
    }
    onnx::TensorProto *floatInit(const std::string &name, std::vector<std::int64_t> dims,
                                 bool raw = true, float fill = 0.5f)
    {
        auto *t = graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto_DataType_FLOAT);
        std::int64_t count = 1;
        for (auto d : dims) {
            t->add_dims(d);
            count *= d;
        }
        std::vector<float> values(static_cast<std::size_t>(count));
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = fill + static_cast<float>(i);
        if (raw)
            t->set_raw_data(std::string(reinterpret_cast<const char *>(values.data()),
                                        values.size() * sizeof(float)));
        else
            for (float v : values)
                t->add_float_data(v);
        return t;
    }
    onnx::TensorProto *int64Init(const std::string &name, std::vector<std::int64_t> values)
    {
        auto *t = graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto_DataType_INT64);
        t->add_dims(static_cast<std::int64_t>(values.size()));
        for (auto v : values)
            t->add_int64_data(v);
        return t;
    }
    std::string bytes() const { return m_model.SerializeAsString(); }

private:
    onnx::ModelProto m_model;
};

inline void intAttr(onnx::NodeProto *node, const std::string &name, std::int64_t value)
{
    auto *a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(value);
}

inline void intsAttr(onnx::NodeProto *node, const std::string &name,
                     std::vector<std::int64_t> values)
{
    auto *a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (auto v : values)
        a->add_ints(v);
}

} // namespace sbtest
