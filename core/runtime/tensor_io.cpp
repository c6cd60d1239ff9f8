#include "core/runtime/tensor_io.h"

#include "core/graph/tensor_proto.h"
#include "core/runtime/npy.h"

#include "core/runtime/npy.h"
#include <fstream>
#include <set>

namespace sb::runtime {

Result<Tensor> readTensorFile(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(ErrorCode::InvalidInput, path.string() + ": cannot open file");
    char magic[6] = {};
    in.read(magic, 6);
    in.close();
    if (std::string(magic, 6) == "\x93NUMPY" || path.extension() == ".npy")
        return readNpy(path);
    auto proto = graph::readTensorProtoFile(path);
    if (!proto)
        return proto.error();
    if (proto->data->type() == ElementType::String)
        return makeError(ErrorCode::Unsupported,
                         path.string() + ": string tensors are not supported");
    // Keep the parsed bytes alive through the tensor's owner.
    return Tensor::fromTensorData(proto->data);
}

Result<std::pair<std::string, std::filesystem::path>> parseInputSpec(const std::string &text)
{
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        return makeError(ErrorCode::InvalidInput,
                         "--input '" + text + "': expected NAME=FILE (e.g. input=x.npy)");
    return std::make_pair(text.substr(0, eq), std::filesystem::path(text.substr(eq + 1)));
}

Status checkInput(const std::string &name, const graph::TensorInfo &declared, const Tensor &tensor)
{
    const bool kindDeclared = declared.kind != graph::ValueKind::Tensor ||
                              declared.type != ElementType::Undefined || declared.shape.rankKnown;
    if (kindDeclared && declared.kind != tensor.kind())
        return makeError(ErrorCode::InvalidInput,
                         "input '" + name + "': a " + graph::valueKindName(tensor.kind()) +
                             ", the model expects a " + graph::valueKindName(declared.kind));
    if (!tensor.isTensor()) {
        // Element types of a sequence/optional are checked when it has any.
        if (declared.type != ElementType::Undefined && tensor.type() != ElementType::Undefined &&
            declared.type != tensor.type())
            return makeError(ErrorCode::InvalidInput, "input '" + name + "': elements of type " +
                                                          graph::elementTypeName(tensor.type()) +
                                                          ", the model expects " +
                                                          graph::elementTypeName(declared.type));
        return Status::success();
    }
    if (declared.type != ElementType::Undefined && declared.type != tensor.type())
        return makeError(ErrorCode::InvalidInput, "input '" + name + "': element type " +
                                                      graph::elementTypeName(tensor.type()) +
                                                      ", the model expects " +
                                                      graph::elementTypeName(declared.type));
    if (!declared.shape.rankKnown)
        return Status::success();
    Shape expectedText;
    bool rankOk = declared.shape.rank() == tensor.rank();
    bool dimsOk = rankOk;
    if (rankOk)
        for (std::size_t i = 0; i < tensor.rank(); ++i)
            if (declared.shape.dims[i].isKnown() && declared.shape.dims[i].value != tensor.dim(i))
                dimsOk = false;
    if (!dimsOk)
        return makeError(ErrorCode::InvalidInput,
                         "input '" + name + "': shape " + shapeToString(tensor.shape()) +
                             ", the model expects " + declared.shape.toString());
    return Status::success();
}

Result<std::map<std::string, Tensor>> loadInputs(const graph::Graph &graph,
                                                 const std::vector<std::string> &specs)
{
    std::map<std::string, Tensor> inputs;
    for (const std::string &spec : specs) {
        SB_ASSIGN_OR_RETURN(auto parsed, parseInputSpec(spec));
        auto valueId = graph.findValue(parsed.first);
        bool isInput = false;
        if (valueId)
            for (graph::ValueId id : graph.inputs())
                isInput = isInput || id == *valueId;
        if (!isInput) {
            std::string names;
            for (graph::ValueId id : graph.inputs())
                names += (names.empty() ? "" : ", ") + graph.value(id).name;
            return makeError(ErrorCode::InvalidInput,
                             "--input '" + spec + "': the model has no input '" + parsed.first +
                                 "' (inputs: " + names + ")");
        }
        if (inputs.count(parsed.first))
            return makeError(ErrorCode::InvalidInput, "input '" + parsed.first + "' given twice");
        auto tensor = readTensorFile(parsed.second);
        if (!tensor) {
            Error error = tensor.error().withContext("input '" + parsed.first + "'");
            if (error.code == ErrorCode::NotFound || error.code == ErrorCode::Unsupported)
                error.code = ErrorCode::InvalidInput;
            return error;
        }
        auto status = checkInput(parsed.first, graph.value(*valueId).info, *tensor);
        if (!status.ok())
            return status.error().withContext(parsed.second.string());
        inputs[parsed.first] = std::move(*tensor);
    }
    for (graph::ValueId id : graph.inputs()) {
        const auto &value = graph.value(id);
        if (!inputs.count(value.name))
            return makeError(ErrorCode::InvalidInput, "missing input '" + value.name + "' (" +
                                                          graph::elementTypeName(value.info.type) +
                                                          " " + value.info.shape.toString() +
                                                          "): pass --input " + value.name +
                                                          "=FILE.npy");
    }
    return inputs;
}

Result<std::map<std::string, Tensor>>
syntheticInputs(const graph::Graph &graph, std::int64_t batch,
                const std::map<std::string, std::int64_t> &dims)
{
    std::map<std::string, Tensor> inputs;
    for (graph::ValueId id : graph.inputs()) {
        const auto &value = graph.value(id);
        if (!value.info.shape.rankKnown)
            return makeError(ErrorCode::InvalidInput,
                             "input '" + value.name + "' has unknown rank; pass --input");
        Shape shape;
        for (std::size_t i = 0; i < value.info.shape.rank(); ++i) {
            const auto &dim = value.info.shape.dims[i];
            if (dim.isKnown())
                shape.push_back(dim.value);
            else if (dim.isSymbolic() && dims.count(dim.symbol))
                shape.push_back(dims.at(dim.symbol));
            else if (i == 0)
                shape.push_back(batch);
            else
                shape.push_back(1);
        }
        if (value.info.type == ElementType::Undefined || graph::elementSize(value.info.type) == 0)
            return makeError(ErrorCode::Unsupported, "input '" + value.name +
                                                         "' has element type " +
                                                         graph::elementTypeName(value.info.type));
        inputs[value.name] = Tensor::zeros(value.info.type, shape);
    }
    return inputs;
}

std::string sanitizeFileName(const std::string &valueName)
{
    std::string name;
    for (char c : valueName) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        name += ok ? c : '_';
    }
    if (name.empty() || name == "." || name == "..")
        name = "output" + name;
    return name;
}

} // namespace sb::runtime

namespace sb::runtime {

Result<std::vector<WrittenOutput>> writeOutputs(const std::filesystem::path &dir,
                                                const std::vector<std::string> &order,
                                                const std::map<std::string, Tensor> &tensors)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return makeError(ErrorCode::Io, dir.string() + ": cannot create folder: " + ec.message());
    std::vector<WrittenOutput> written;
    std::set<std::string> used;
    for (const std::string &name : order) {
        auto it = tensors.find(name);
        if (it == tensors.end())
            return makeError(ErrorCode::Internal, "output '" + name + "' was not produced");
        std::string base = sanitizeFileName(name);
        std::string file = base;
        for (int suffix = 1; used.count(file); ++suffix)
            file = base + "_" + std::to_string(suffix);
        used.insert(file);
        WrittenOutput out{name, dir / (file + ".npy"), it->second.type(), it->second.shape()};
        SB_TRY(writeNpy(out.file, it->second));
        written.push_back(std::move(out));
    }
    return written;
}

} // namespace sb::runtime
