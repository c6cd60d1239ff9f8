// ONNX import, block grouping and the cost model.
//
// References: the ONNX conformance models Debian ships (libonnx-testdata),
// PyTorch-exported fixtures whose parameter counts and Conv/Gemm/MatMul FLOPs
// were measured by the framework itself (tests/data/models/manifest.json,
// torch.profiler), and hand-computed figures for tiny graphs.
#include "core/cost/cost_model.h"
#include "core/graph/blocks.h"
#include "core/graph/onnx_import.h"
#include "core/graph/tensor_proto.h"
#include "onnx_builder.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>

using namespace sb;
using namespace sb::graph;
using sbtest::ModelBuilder;

namespace {

namespace fs = std::filesystem;

const int kFloat = onnx::TensorProto_DataType_FLOAT;

void writeFile(const fs::path &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// X[batch,4] -> MatMul W[4,3] -> Relu -> Y
ModelBuilder smallModel()
{
    ModelBuilder b;
    b.input("X", {std::string("batch"), std::int64_t{4}});
    b.floatInit("W", {4, 3});
    b.node("MatMul", {"X", "W"}, {"H"}, "/layer.0/MatMul");
    b.node("Relu", {"H"}, {"Y"}, "/layer.0/Relu");
    b.output("Y");
    return b;
}

// A model whose weight W[4,3] lives in an external file.
ModelBuilder externalModel(const std::string &location, std::int64_t offset = 0,
                           std::int64_t length = 48)
{
    ModelBuilder b;
    b.input("X", {std::int64_t{2}, std::int64_t{4}});
    auto *w = b.graph()->add_initializer();
    w->set_name("W");
    w->set_data_type(kFloat);
    w->add_dims(4);
    w->add_dims(3);
    w->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    auto entry = [&](const std::string &k, const std::string &v) {
        auto *e = w->add_external_data();
        e->set_key(k);
        e->set_value(v);
    };
    entry("location", location);
    entry("offset", std::to_string(offset));
    entry("length", std::to_string(length));
    b.node("MatMul", {"X", "W"}, {"Y"}, "mm");
    b.output("Y");
    return b;
}

const Value &valueNamed(const Graph &g, const std::string &name)
{
    auto id = g.findValue(name);
    if (!id)
        qFatal("no value %s", name.c_str());
    return g.value(*id);
}

double nodeFlops(const Graph &g, const cost::GraphCost &c, const std::string &name)
{
    auto id = g.findNode(name);
    if (!id)
        qFatal("no node %s", name.c_str());
    return c.nodes[static_cast<std::size_t>(*id)].flops;
}

// Address ranges of the mappings of `file` in this process (/proc/self/maps).
std::vector<std::pair<std::uintptr_t, std::uintptr_t>> mappingsOf(const fs::path &file)
{
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const std::string target = fs::canonical(file).string();
    while (std::getline(maps, line)) {
        if (line.size() < target.size() ||
            line.compare(line.size() - target.size(), target.size(), target))
            continue;
        auto dash = line.find('-');
        auto space = line.find(' ');
        ranges.emplace_back(std::stoull(line.substr(0, dash), nullptr, 16),
                            std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16));
    }
    return ranges;
}

} // namespace

class TestGraph : public QObject
{
    Q_OBJECT

private slots:
    // ---- conformance data ------------------------------------------------
    void libonnxTestdataImportsOrFailsCleanly()
    {
        const fs::path root = "/usr/share/libonnx-testdata/data";
        if (!fs::is_directory(root))
            QSKIP("libonnx-testdata is not installed");
        int imported = 0, rejected = 0;
        std::map<std::string, int> perFolder;
        QStringList rejections;
        auto started = std::chrono::steady_clock::now();
        for (const char *folder : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
            for (const auto &entry : fs::directory_iterator(root / folder)) {
                fs::path model = entry.path() / "model.onnx";
                if (!fs::exists(model))
                    continue;
                auto graph = importOnnxFile(model);
                if (graph) {
                    ++imported;
                    ++perFolder[folder];
                    // The cost model must cope with whatever imported.
                    cost::DimBindings bindings;
                    bindings.batch = 1;
                    auto costs = cost::computeCost(**graph, bindings);
                    QVERIFY2(costs.ok(), model.c_str());
                    for (const auto &node : (*graph)->nodes())
                        QVERIFY(node.block >= 0);
                } else {
                    ++rejected;
                    const Error &error = graph.error();
                    // Clean: an input error that names the file.
                    QVERIFY2(error.code == ErrorCode::InvalidInput ||
                                 error.code == ErrorCode::Unsupported ||
                                 error.code == ErrorCode::NotFound,
                             error.message.c_str());
                    QVERIFY2(error.message.rfind(model.string(), 0) == 0, error.message.c_str());
                    rejections << QString::fromStdString(error.message);
                }
            }
        }
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        qInfo("libonnx-testdata: %d imported, %d rejected cleanly (%.1f s)", imported, rejected,
              seconds);
        for (const auto &[folder, count] : perFolder)
            qInfo("  %s: %d imported", folder.c_str(), count);
        for (const auto &r : rejections)
            qInfo("  rejected: %s", qPrintable(r.left(220)));
        QVERIFY(imported + rejected > 1000);
        // These are valid models: nearly all must import.
        QVERIFY2(rejected * 50 < imported + rejected, "more than 2% of valid models rejected");
    }

    // ---- malformed input ---------------------------------------------------
    void malformedInputs_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("code");
        QTest::addColumn<QStringList>("mentions");
        auto row = [](const char *kind, ErrorCode code, QStringList mentions) {
            QTest::newRow(kind) << QString(kind) << static_cast<int>(code) << mentions;
        };
        row("truncated", ErrorCode::InvalidInput, {"model.onnx", "protobuf parse failed"});
        row("random bytes", ErrorCode::InvalidInput, {"model.onnx"});
        row("empty file", ErrorCode::InvalidInput, {"model.onnx", "no graph"});
        row("cycle", ErrorCode::InvalidInput, {"cycle", "'a'", "'b'"});
        row("missing input", ErrorCode::InvalidInput, {"'mm'", "MatMul", "'nowhere'"});
        row("missing initializer", ErrorCode::InvalidInput, {"'mm'", "'W'", "neither produced"});
        row("unknown op", ErrorCode::InvalidInput, {"'weird'", "unknown op 'FrobnicateTensor'"});
        row("duplicate producer", ErrorCode::InvalidInput, {"'H'", "produced by two nodes"});
        row("raw size mismatch", ErrorCode::InvalidInput, {"'W'", "raw data"});
        row("bad schema arity", ErrorCode::InvalidInput, {"'r'", "ONNX checker"});
        row("external dotdot", ErrorCode::InvalidInput, {"'W'", "../x", "escapes"});
        row("external absolute", ErrorCode::InvalidInput, {"'W'", "/etc/passwd", "absolute"});
        row("external offset", ErrorCode::InvalidInput, {"'W'", "offset", "exceeds"});
        row("external beyond", ErrorCode::InvalidInput, {"'W'", "beyond the end"});
        row("external symlink", ErrorCode::InvalidInput, {"'W'", "outside the model's folder"});
        row("external missing", ErrorCode::NotFound, {"'W'", "not found"});
        row("missing file", ErrorCode::NotFound, {"model.onnx", "no such file"});
    }

    void malformedInputs()
    {
        QFETCH(QString, kind);
        QFETCH(int, code);
        QFETCH(QStringList, mentions);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const fs::path folder = dir.path().toStdString();
        const fs::path model = folder / "model.onnx";
        std::string bytes;
        if (kind == "truncated") {
            bytes = smallModel().bytes();
            bytes.resize(bytes.size() - 7); // inside the initializer's raw data
        } else if (kind == "random bytes") {
            std::mt19937 rng(1234);
            bytes.resize(4096);
            for (char &c : bytes)
                c = static_cast<char>(rng());
        } else if (kind == "empty file") {
            bytes.clear();
        } else if (kind == "cycle") {
            ModelBuilder b;
            b.input("X", {std::int64_t{2}});
            b.node("Add", {"X", "B"}, {"A"}, "a");
            b.node("Relu", {"A"}, {"B"}, "b");
            b.output("B");
            bytes = b.bytes();
        } else if (kind == "missing input" || kind == "missing initializer") {
            ModelBuilder b;
            b.input("X", {std::int64_t{2}, std::int64_t{4}});
            b.node("MatMul", {"X", kind == "missing input" ? "nowhere" : "W"}, {"Y"}, "mm");
            b.output("Y");
            bytes = b.bytes();
        } else if (kind == "unknown op") {
            ModelBuilder b;
            b.input("X", {std::int64_t{2}});
            b.node("FrobnicateTensor", {"X"}, {"Y"}, "weird");
            b.output("Y");
            bytes = b.bytes();
        } else if (kind == "duplicate producer") {
            ModelBuilder b;
            b.input("X", {std::int64_t{2}});
            b.node("Relu", {"X"}, {"H"}, "r1");
            b.node("Relu", {"X"}, {"H"}, "r2");
            b.output("H");
            bytes = b.bytes();
        } else if (kind == "raw size mismatch") {
            ModelBuilder b = smallModel();
            b.graph()->mutable_initializer(0)->mutable_raw_data()->resize(20);
            bytes = b.bytes();
        } else if (kind == "bad schema arity") {
            ModelBuilder b;
            b.input("X", {std::int64_t{2}});
            b.node("Relu", {"X", "X", "X"}, {"Y"}, "r");
            b.output("Y");
            bytes = b.bytes();
        } else if (kind == "external dotdot") {
            bytes = externalModel("../x").bytes();
        } else if (kind == "external absolute") {
            bytes = externalModel("/etc/passwd").bytes();
        } else if (kind == "external offset") {
            writeFile(folder / "w.bin", std::string(64, '\0'));
            bytes = externalModel("w.bin", 32, 48).bytes();
        } else if (kind == "external beyond") {
            writeFile(folder / "w.bin", std::string(64, '\0'));
            bytes = externalModel("w.bin", 65, 48).bytes();
        } else if (kind == "external symlink") {
            QTemporaryDir outside;
            writeFile(fs::path(outside.path().toStdString()) / "secret.bin", std::string(48, 'x'));
            fs::create_symlink(fs::path(outside.path().toStdString()) / "secret.bin",
                               folder / "link.bin");
            bytes = externalModel("link.bin").bytes();
            writeFile(model, bytes);
            auto result = importOnnxFile(model);
            QVERIFY(!result.ok());
            QCOMPARE(static_cast<int>(result.error().code), code);
            for (const auto &m : mentions)
                QVERIFY2(result.error().message.find(m.toStdString()) != std::string::npos,
                         result.error().message.c_str());
            return;
        } else if (kind == "external missing") {
            bytes = externalModel("absent.bin").bytes();
        } else if (kind == "missing file") {
            auto result = importOnnxFile(model);
            QVERIFY(!result.ok());
            QCOMPARE(static_cast<int>(result.error().code), code);
            for (const auto &m : mentions)
                QVERIFY(result.error().message.find(m.toStdString()) != std::string::npos);
            return;
        }
        writeFile(model, bytes);
        auto result = importOnnxFile(model);
        QVERIFY2(!result.ok(), qPrintable(kind));
        QCOMPARE(static_cast<int>(result.error().code), code);
        for (const auto &m : mentions)
            QVERIFY2(result.error().message.find(m.toStdString()) != std::string::npos,
                     result.error().message.c_str());
        // The same bytes through the in-memory entry point fail too, never crash.
        auto fromBytes = importOnnxBytes(bytes, folder);
        QVERIFY(!fromBytes.ok());
    }

    void everyTruncationFailsOrImports()
    {
        // Cutting a valid model anywhere must give a result or a clean error.
        const std::string bytes = smallModel().bytes();
        int failed = 0;
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            auto result = importOnnxBytes(std::string_view(bytes.data(), n));
            if (!result.ok()) {
                ++failed;
                QVERIFY(!result.error().message.empty());
                QVERIFY(result.error().code == ErrorCode::InvalidInput ||
                        result.error().code == ErrorCode::Unsupported);
            }
        }
        QVERIFY(failed > static_cast<int>(bytes.size()) / 2);
    }

    // ---- what import keeps ---------------------------------------------------
    void keepsSymbolicDimsFromShapeInference()
    {
        auto graph = importOnnxBytes(smallModel().bytes());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const Graph &g = **graph;
        // Y's shape was not declared: ONNX shape inference found [batch, 3].
        const Shape &y = valueNamed(g, "Y").info.shape;
        QVERIFY(y.rankKnown);
        QCOMPARE(y.rank(), std::size_t{2});
        QCOMPARE(y.dims[0], Dim::symbolic("batch"));
        QCOMPARE(y.dims[1], Dim::known(3));
        QCOMPARE(QString::fromStdString(y.toString()), QString("[batch,3]"));
        QCOMPARE(valueNamed(g, "H").info.type, ElementType::Float32);
        QCOMPARE(g.inputs().size(), std::size_t{1}); // the initializer is not an input
        QCOMPARE(g.opsets.at(""), std::int64_t{17});
        QCOMPARE(g.producerName, std::string("shardbench-test"));
        QCOMPARE(g.irVersion, std::int64_t{8});
    }

    void rawDataIsBorrowedFromTheModelFile()
    {
        QTemporaryDir dir;
        const fs::path model = fs::path(dir.path().toStdString()) / "model.onnx";
        ModelBuilder b = smallModel();
        b.floatInit("W2", {64, 64}); // unused, still a parameter
        writeFile(model, b.bytes());
        auto graph = importOnnxFile(model);
        QVERIFY(graph.ok());
        const auto &w = valueNamed(**graph, "W2").initializer;
        QVERIFY(w);
        QCOMPARE(w->byteSize(), std::size_t{64 * 64 * 4});
        auto address = reinterpret_cast<std::uintptr_t>(w->data());
        bool inside = false;
        for (auto [begin, end] : mappingsOf(model))
            inside = inside || (address >= begin && address + w->byteSize() <= end);
        QVERIFY2(inside, "raw_data should point into the memory-mapped model file");
        QCOMPARE(w->as<float>()[0], 0.5f);
        QCOMPARE(w->as<float>()[4095], 4095.5f);
        // Weights stay valid after the Graph is gone (the tensor owns the mapping).
        auto keep = w;
        graph = makeError(ErrorCode::Internal, "dropped");
        QCOMPARE(keep->as<float>()[7], 7.5f);
    }

    void typedFieldsAreConverted()
    {
        ModelBuilder b;
        b.input("X", {std::int64_t{2}, std::int64_t{4}});
        b.floatInit("W", {4, 3}, /*raw=*/false, 1.0f);
        auto *h = b.graph()->add_initializer();
        h->set_name("H16");
        h->set_data_type(onnx::TensorProto_DataType_FLOAT16);
        h->add_dims(2);
        h->add_int32_data(0x3c00); // 1.0
        h->add_int32_data(0xc000); // -2.0
        b.node("MatMul", {"X", "W"}, {"Y"}, "mm");
        b.output("Y");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY(graph.ok());
        const auto &w = *valueNamed(**graph, "W").initializer;
        QCOMPARE(w.elementCount(), std::int64_t{12});
        QCOMPARE(w.as<float>()[11], 12.0f);
        const auto &f16 = *valueNamed(**graph, "H16").initializer;
        QCOMPARE(f16.byteSize(), std::size_t{4});
        QCOMPARE(f16.as<std::uint16_t>()[1], std::uint16_t{0xc000});
        QCOMPARE((*graph)->parameterCount(), std::uint64_t{14});
    }

    void externalDataIsMemoryMapped()
    {
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        std::string weights(16, '\0');
        std::vector<float> values(12);
        for (int i = 0; i < 12; ++i)
            values[static_cast<std::size_t>(i)] = static_cast<float>(i) * 0.25f;
        weights.append(reinterpret_cast<const char *>(values.data()), 48);
        fs::create_directories(folder / "weights");
        writeFile(folder / "weights" / "w.bin", weights);
        writeFile(folder / "model.onnx", externalModel("weights/w.bin", 16, 48).bytes());
        auto graph = importOnnxFile(folder / "model.onnx");
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const auto &w = valueNamed(**graph, "W").initializer;
        QCOMPARE(w->as<float>()[5], 1.25f);
        auto address = reinterpret_cast<std::uintptr_t>(w->data());
        bool inside = false;
        for (auto [begin, end] : mappingsOf(folder / "weights" / "w.bin"))
            inside = inside || (address >= begin && address < end);
        QVERIFY(inside);
        // In-memory bytes without a folder cannot resolve it.
        auto noFolder = importOnnxBytes(externalModel("weights/w.bin", 16, 48).bytes());
        QVERIFY(!noFolder.ok());
        QVERIFY(noFolder.error().message.find("without a folder") != std::string::npos);
    }

    void sortsNodesAndNamesUnnamedOnes()
    {
        ModelBuilder b;
        b.input("X", {std::int64_t{2}});
        b.node("Relu", {"A"}, {"B"}); // consumer first in the file
        b.node("Neg", {"X"}, {"A"});
        b.node("Abs", {"B"}, {"C"}, "dup");
        b.node("Abs", {"C"}, {"D"}, "dup");
        b.output("D");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const auto &nodes = (*graph)->nodes();
        QCOMPARE(nodes.size(), std::size_t{4});
        QCOMPARE(nodes[0].opType, std::string("Neg"));
        QCOMPARE(nodes[0].name, std::string("Neg_1"));
        QCOMPARE(nodes[1].name, std::string("Relu_0"));
        QCOMPARE(nodes[2].name, std::string("dup"));
        QCOMPARE(nodes[3].name, std::string("dup_3"));
        // Shape inference ran on the sorted order: D is known.
        QCOMPARE(valueNamed(**graph, "D").info.shape.toString(), std::string("[2]"));
        QVERIFY(!(*graph)->diagnostics.empty());
    }

    void customDomainsAreKeptAndReported()
    {
        ModelBuilder b;
        auto *op = b.model().add_opset_import();
        op->set_domain("com.example");
        op->set_version(1);
        b.input("X", {std::int64_t{2}});
        b.node("Fancy", {"X"}, {"Y"}, "f")->set_domain("com.example");
        b.output("Y");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        QCOMPARE((*graph)->nodes()[0].domain, std::string("com.example"));
        bool reported = false;
        for (const auto &d : (*graph)->diagnostics)
            reported = reported || d.find("com.example::Fancy") != std::string::npos;
        QVERIFY(reported);
    }

    void subgraphsReadOuterValues()
    {
        // If(cond) { then: Y = Add(X, B) } else { Y = Sub(X, B) } with B produced
        // after the If in the file: the sort must honour the implicit input.
        ModelBuilder b;
        b.input("X", {std::int64_t{2}});
        b.input("cond", {}, onnx::TensorProto_DataType_BOOL);
        auto *ifNode = b.node("If", {"cond"}, {"Y"}, "branch");
        auto branch = [&](const char *attrName, const char *op) {
            auto *attr = ifNode->add_attribute();
            attr->set_name(attrName);
            attr->set_type(onnx::AttributeProto_AttributeType_GRAPH);
            auto *g = attr->mutable_g();
            g->set_name(attrName);
            auto *n = g->add_node();
            n->set_op_type(op);
            const std::string x = "X", bName = "B";
            n->add_input(x);
            n->add_input(bName);
            n->add_output(std::string(attrName) + "_out");
            auto *out = g->add_output();
            out->set_name(std::string(attrName) + "_out");
            sbtest::setTensorType(out, kFloat, {std::int64_t{2}});
        };
        branch("then_branch", "Add");
        branch("else_branch", "Sub");
        b.node("Neg", {"X"}, {"B"}, "makeB");
        b.output("Y");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const Graph &g = **graph;
        QCOMPARE(g.nodes()[0].name, std::string("makeB"));
        const Node &node = g.nodes()[1];
        QCOMPARE(node.implicitInputs.size(), std::size_t{2}); // X and B
        const auto *then = node.attribute("then_branch");
        QVERIFY(then && then->kind == Attribute::Kind::Graph);
        QCOMPARE(then->graph->nodes()[0].opType, std::string("Add"));

        // A subgraph reading a name nobody defines is an error naming it.
        ModelBuilder bad;
        bad.input("cond", {}, onnx::TensorProto_DataType_BOOL);
        auto *badIf = bad.node("If", {"cond"}, {"Y"}, "broken");
        for (const char *name : {"then_branch", "else_branch"}) {
            auto *attr = badIf->add_attribute();
            attr->set_name(name);
            attr->set_type(onnx::AttributeProto_AttributeType_GRAPH);
            auto *n = attr->mutable_g()->add_node();
            const std::string ghost = "ghost", o = "o";
            n->set_op_type("Neg");
            n->add_input(ghost);
            n->add_output(o);
            attr->mutable_g()->add_output()->set_name("o");
        }
        bad.output("Y");
        auto failed = importOnnxBytes(bad.bytes());
        QVERIFY(!failed.ok());
        QVERIFY2(failed.error().message.find("'ghost'") != std::string::npos,
                 failed.error().message.c_str());
    }

    // Sequence and optional types keep their kind and element type (graph
    // inputs, subgraph inputs) and the values of ONNX's SequenceProto /
    // OptionalProto test data read back as such.
    void sequenceAndOptionalTypes()
    {
        const fs::path dir = "/usr/share/libonnx-testdata/data/node/test_loop16_seq_none";
        if (!fs::exists(dir))
            QSKIP("libonnx-testdata is not installed");
        auto graph = importOnnxFile(dir / "model.onnx");
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const Value &opt = (*graph)->value(*(*graph)->findValue("opt_seq"));
        QCOMPARE(opt.info.kind, ValueKind::Optional);
        QCOMPARE(opt.info.optionalOf, ValueKind::Sequence);
        QCOMPARE(opt.info.type, ElementType::Float32);
        const Value &out = (*graph)->value((*graph)->outputs()[0]);
        QCOMPARE(out.info.kind, ValueKind::Sequence);
        const Graph &body = *(*graph)->nodes()[0].attribute("body")->graph;
        QCOMPARE(body.value(body.inputs()[2]).info.kind, ValueKind::Optional);

        auto stored = readValueProtoFile(dir / "test_data_set_0" / "input_2.pb", opt.info);
        QVERIFY2(stored.ok(), stored.ok() ? "" : stored.error().message.c_str());
        QCOMPARE(stored->kind, ValueKind::Optional);
        auto result = readValueProtoFile(dir / "test_data_set_0" / "output_0.pb", out.info);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        QCOMPARE(result->kind, ValueKind::Sequence);
        QVERIFY(!result->elements.empty());
        QCOMPARE(result->elements[0].kind, ValueKind::Tensor);
        QCOMPARE(result->elements[0].tensor->type(), ElementType::Float32);
    }

    // ---- blocks -------------------------------------------------------------
    void nameScopes_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("scopes");
        QTest::newRow("bert") << "/encoder/layer.3/attention/self/MatMul"
                              << QStringList{"encoder", "layer.3", "attention", "self"};
        QTest::newRow("root op") << "/Add" << QStringList{};
        QTest::newRow("unscoped") << "Conv_12" << QStringList{};
        QTest::newRow("torchvision")
            << "/layer1/layer1.0/conv1/Conv" << QStringList{"layer1", "layer1.0", "conv1"};
    }

    void nameScopes()
    {
        QFETCH(QString, name);
        QFETCH(QStringList, scopes);
        QStringList got;
        for (const auto &s : graph::nameScopes(name.toStdString()))
            got << QString::fromStdString(s);
        QCOMPARE(got, scopes);
    }

    void blocksFromScopes_data()
    {
        QTest::addColumn<QStringList>("nodeNames"); // a chain, in order
        QTest::addColumn<QStringList>("blocks");    // expected "name:count"
        QTest::newRow("bert") << QStringList{"/embeddings/word/Gather",
                                             "/embeddings/Add",
                                             "/encoder/layer.0/attention/MatMul",
                                             "/encoder/layer.0/output/Add",
                                             "/encoder/layer.1/attention/MatMul",
                                             "/encoder/layer.1/output/Add",
                                             "/pooler/Tanh"}
                              << QStringList{"/embeddings:2", "/encoder/layer.0:2",
                                             "/encoder/layer.1:2", "/pooler:1"};
        QTest::newRow("gpt2")
            << QStringList{"/transformer/wte/Gather",      "/transformer/Add",
                           "/transformer/h.0/attn/MatMul", "/transformer/h.1/mlp/Mul",
                           "/transformer/ln_f/Div",        "/lm_head/MatMul"}
            << QStringList{"/transformer/wte:1", "/transformer:1",      "/transformer/h.0:1",
                           "/transformer/h.1:1", "/transformer/ln_f:1", "/lm_head:1"};
        QTest::newRow("timm") << QStringList{"/patch/Conv",
                                             "/blocks.0/attn/MatMul",
                                             "/blocks.0/mlp/fc1/MatMul",
                                             "/blocks.1/attn/MatMul",
                                             "/blocks.1/mlp/fc2/MatMul",
                                             "Add_9"}
                              << QStringList{"/patch:1", "/blocks.0:2", "/blocks.1:2", "Add_9:1"};
        QTest::newRow("torchvision")
            << QStringList{"/conv1/Conv",
                           "/layer1/layer1.0/conv1/Conv",
                           "/layer1/layer1.0/conv2/Conv",
                           "/layer1/layer1.1/conv1/Conv",
                           "/layer2/layer2.0/conv1/Conv",
                           "/layer2/layer2.1/conv1/Conv",
                           "/fc/Gemm"}
            << QStringList{"/conv1:1",           "/layer1/layer1.0:2", "/layer1/layer1.1:1",
                           "/layer2/layer2.0:1", "/layer2/layer2.1:1", "/fc:1"};
        QTest::newRow("single numbered scope is not a family")
            << QStringList{"/stem.0/Conv", "/head/Gemm"} << QStringList{"/stem.0:1", "/head:1"};
    }

    void blocksFromScopes()
    {
        QFETCH(QStringList, nodeNames);
        QFETCH(QStringList, blocks);
        ModelBuilder b;
        b.input("v0", {std::int64_t{2}});
        auto valueName = [](qsizetype i) { return QString("v%1").arg(i).toStdString(); };
        for (qsizetype i = 0; i < nodeNames.size(); ++i)
            b.node("Relu", {valueName(i)}, {valueName(i + 1)}, nodeNames[i].toStdString());
        b.output(valueName(nodeNames.size()));
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        QStringList got;
        for (const auto &block : (*graph)->blocks())
            got << QString::fromStdString(block.name) + ":" + QString::number(block.nodes.size());
        QCOMPARE(got, blocks);
    }

    void interleavedBlocksBecomeContiguous()
    {
        // Two independent layers whose nodes alternate in the file: the
        // block-level graph is acyclic, so nodes are regrouped.
        ModelBuilder b;
        b.input("X", {std::int64_t{2}});
        b.node("Relu", {"X"}, {"a1"}, "/layers.0/Relu");
        b.node("Neg", {"X"}, {"b1"}, "/layers.1/Neg");
        b.node("Abs", {"a1"}, {"a2"}, "/layers.0/Abs");
        b.node("Abs", {"b1"}, {"b2"}, "/layers.1/Abs");
        b.node("Add", {"a2", "b2"}, {"Y"}, "/head/Add");
        b.output("Y");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY(graph.ok());
        const Graph &g = **graph;
        QCOMPARE(g.blocks().size(), std::size_t{3});
        for (std::size_t i = 0; i < g.blocks().size(); ++i) {
            const auto &nodes = g.blocks()[i].nodes;
            for (std::size_t k = 1; k < nodes.size(); ++k)
                QCOMPARE(nodes[k], nodes[k - 1] + 1); // contiguous
            for (NodeId n : nodes)
                QCOMPARE(g.node(n).block, static_cast<std::int32_t>(i));
        }
        // Still topological.
        for (std::size_t n = 0; n < g.nodes().size(); ++n)
            for (ValueId in : g.nodes()[n].inputs)
                QVERIFY(g.value(in).producer < static_cast<NodeId>(n));
    }

    void blocksWithMutualDependenciesAreSplitIntoRuns()
    {
        // /layers.0 -> /layers.1 -> /layers.0 again: no contiguous order exists.
        ModelBuilder b;
        b.input("X", {std::int64_t{2}});
        b.node("Relu", {"X"}, {"a"}, "/layers.0/Relu");
        b.node("Neg", {"a"}, {"b"}, "/layers.1/Neg");
        b.node("Abs", {"b"}, {"Y"}, "/layers.0/Abs");
        b.output("Y");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY(graph.ok());
        QStringList got;
        for (const auto &block : (*graph)->blocks())
            got << QString::fromStdString(block.name);
        QCOMPARE(got, (QStringList{"/layers.0", "/layers.1", "/layers.0 (2)"}));
    }

    // ---- cost model ------------------------------------------------------------
    void costOfTinyGraphs()
    {
        ModelBuilder b;
        b.input("A", {std::string("batch"), std::int64_t{1}, std::int64_t{4}, std::int64_t{8}});
        b.floatInit("Bm", {3, 8, 5});
        b.node("MatMul", {"A", "Bm"}, {"M"}, "mm"); // [batch,3,4,5]
        b.input("G", {std::int64_t{4}, std::int64_t{6}});
        b.floatInit("Gw", {5, 6});
        b.floatInit("Gb", {5});
        sbtest::intAttr(b.node("Gemm", {"G", "Gw", "Gb"}, {"GY"}, "gemm"), "transB", 1);
        b.input("X", {std::string("batch"), std::int64_t{4}, std::int64_t{8}, std::int64_t{8}});
        b.floatInit("Cw", {6, 2, 3, 3});
        b.floatInit("Cb", {6});
        auto *conv = b.node("Conv", {"X", "Cw", "Cb"}, {"CY"}, "conv");
        sbtest::intAttr(conv, "group", 2);
        sbtest::intsAttr(conv, "pads", {1, 1, 1, 1});
        sbtest::intsAttr(conv, "kernel_shape", {3, 3});
        b.floatInit("Tw", {6, 2, 2, 2}); // ConvTranspose: [C_in, C_out/group, k, k]
        auto *deconv = b.node("ConvTranspose", {"CY", "Tw"}, {"TY"}, "deconv");
        sbtest::intsAttr(deconv, "strides", {2, 2});
        sbtest::intsAttr(deconv, "kernel_shape", {2, 2});
        b.node("Softmax", {"TY"}, {"S"}, "softmax");
        b.node("Relu", {"M"}, {"R"}, "relu");
        b.output("R");
        b.output("GY");
        b.output("S");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const Graph &g = **graph;
        QCOMPARE(cost::batchSymbols(g), std::vector<std::string>{"batch"});

        cost::DimBindings bindings;
        bindings.batch = 2;
        auto costs = cost::computeCost(g, bindings);
        QVERIFY(costs.ok());
        const auto &c = *costs;
        // MatMul [2,1,4,8] x [3,8,5] -> [2,3,4,5]: 2 * K(8) * 120 outputs.
        QCOMPARE(nodeFlops(g, c, "mm"), 2.0 * 8 * 120);
        // Gemm M=4 N=5 K=6 with bias: 2*4*5*6 + 4*5.
        QCOMPARE(nodeFlops(g, c, "gemm"), 2.0 * 4 * 5 * 6 + 20);
        // Conv out [2,6,8,8]=768, C_in/group=2, 3x3: 2*768*2*9 + 768 bias.
        QCOMPARE(nodeFlops(g, c, "conv"), 2.0 * 768 * 2 * 9 + 768);
        // ConvTranspose in [2,6,8,8]=768 elements, C_out/group=2, 2x2 kernel.
        QCOMPARE(nodeFlops(g, c, "deconv"), 2.0 * 768 * 2 * 4);
        // Softmax: input elements [2,2,16,16] (ConvTranspose: C_out = 2 * group 1).
        QCOMPARE(nodeFlops(g, c, "softmax"), 2.0 * 2 * 16 * 16);
        QCOMPARE(nodeFlops(g, c, "relu"), 120.0);
        // Activation bytes: outputs x 4 bytes.
        auto convId = g.findNode("conv");
        QCOMPARE(c.nodes[static_cast<std::size_t>(*convId)].activationBytes,
                 std::uint64_t{768 * 4});
        QCOMPARE(c.nodes[static_cast<std::size_t>(*convId)].paramCount,
                 std::uint64_t{6 * 2 * 9 + 6});
        QVERIFY(c.total.exact);
        QCOMPARE(c.total.paramCount, g.parameterCount());
        QCOMPARE(c.total.paramCount, std::uint64_t{120 + 30 + 5 + 108 + 6 + 48});

        // An explicit dim wins over --batch; unbound -> inexact.
        cost::DimBindings dims;
        dims.batch = 2;
        dims.dims["batch"] = 3;
        auto three = cost::computeCost(g, dims);
        QCOMPARE(nodeFlops(g, *three, "relu"), 180.0);
        auto unbound = cost::computeCost(g, cost::DimBindings{});
        QVERIFY(unbound.ok());
        QVERIFY(!unbound->total.exact);
        QCOMPARE(nodeFlops(g, *unbound, "gemm"), 2.0 * 4 * 5 * 6 + 20); // static part still counted
        auto resolved = cost::resolveShape(valueNamed(g, "M").info.shape, g, dims);
        QVERIFY(resolved);
        QCOMPARE(*resolved, (std::vector<std::int64_t>{3, 3, 4, 5}));
        QVERIFY(!cost::resolveShape(valueNamed(g, "M").info.shape, g, {}));
    }

    void sharedWeightsAreChargedOnce()
    {
        ModelBuilder b;
        b.input("X", {std::int64_t{2}, std::int64_t{4}});
        b.floatInit("W", {4, 4});
        b.node("MatMul", {"X", "W"}, {"H"}, "first");
        b.node("MatMul", {"H", "W"}, {"Y"}, "second");
        b.output("Y");
        auto graph = importOnnxBytes(b.bytes());
        QVERIFY(graph.ok());
        auto costs = cost::computeCost(**graph, {});
        QVERIFY(costs.ok());
        const Graph &g = **graph;
        QCOMPARE(costs->nodes[static_cast<std::size_t>(*g.findNode("first"))].paramBytes,
                 std::uint64_t{64});
        QCOMPARE(costs->nodes[static_cast<std::size_t>(*g.findNode("second"))].paramBytes,
                 std::uint64_t{0});
        QCOMPARE(costs->total.paramCount, std::uint64_t{16});
    }

    void parseDimBinding_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("ok");
        QTest::newRow("good") << "seq=128" << true;
        QTest::newRow("no value") << "seq" << false;
        QTest::newRow("no name") << "=3" << false;
        QTest::newRow("not a number") << "seq=abc" << false;
        QTest::newRow("negative") << "seq=-1" << false;
        QTest::newRow("trailing junk") << "seq=12x" << false;
    }

    void parseDimBinding()
    {
        QFETCH(QString, text);
        QFETCH(bool, ok);
        auto parsed = cost::parseDimBinding(text.toStdString());
        QCOMPARE(parsed.ok(), ok);
        if (ok) {
            QCOMPARE(parsed->first, std::string("seq"));
            QCOMPARE(parsed->second, std::int64_t{128});
        } else {
            QVERIFY(parsed.error().message.find(text.toStdString()) != std::string::npos);
        }
    }

    void batchDetection()
    {
        // Fixed batch on the input.
        ModelBuilder fixed;
        fixed.input("X", {std::int64_t{1}, std::int64_t{4}});
        fixed.node("Relu", {"X"}, {"Y"}, "r");
        fixed.output("Y");
        auto g1 = importOnnxBytes(fixed.bytes());
        QVERIFY(g1.ok());
        std::string reason;
        QVERIFY(!cost::batchIsSymbolicThroughout(**g1, &reason));
        QVERIFY(reason.find("'X'") != std::string::npos);

        // Symbolic input, but a Reshape with a constant [3, -1] bakes batch 3.
        ModelBuilder baked;
        baked.input("X", {std::string("N"), std::int64_t{2}, std::int64_t{2}});
        baked.int64Init("shape", {3, -1});
        baked.node("Reshape", {"X", "shape"}, {"Y"}, "flatten");
        baked.output("Y");
        auto g2 = importOnnxBytes(baked.bytes());
        QVERIFY(g2.ok());
        QVERIFY(!cost::batchIsSymbolicThroughout(**g2, &reason));
        QVERIFY(reason.find("'flatten'") != std::string::npos);

        // [0, -1] keeps the batch: fine.
        ModelBuilder good;
        good.input("X", {std::string("N"), std::int64_t{2}, std::int64_t{2}});
        good.int64Init("shape", {0, -1});
        good.node("Reshape", {"X", "shape"}, {"Y"}, "flatten");
        good.output("Y");
        auto g3 = importOnnxBytes(good.bytes());
        QVERIFY(g3.ok());
        QVERIFY(cost::batchIsSymbolicThroughout(**g3, &reason));
    }

    // ---- PyTorch-exported fixtures ----------------------------------------------
    void pytorchFixtures_data()
    {
        QTest::addColumn<QString>("name");
        const fs::path manifest = fs::path(SB_TESTDATA_DIR) / "models" / "manifest.json";
        if (!fs::exists(manifest)) {
            QTest::newRow("no manifest") << QString();
            return;
        }
        auto json = nlohmann::json::parse(readFile(manifest));
        for (const auto &m : json["models"])
            QTest::newRow(m["name"].get<std::string>().c_str())
                << QString::fromStdString(m["name"].get<std::string>());
    }

    void pytorchFixtures()
    {
        QFETCH(QString, name);
        const fs::path folder = fs::path(SB_TESTDATA_DIR) / "models";
        if (name.isEmpty())
            QSKIP("tests/data/models/manifest.json is absent");
        auto json = nlohmann::json::parse(readFile(folder / "manifest.json"));
        nlohmann::json entry;
        for (const auto &m : json["models"])
            if (m["name"] == name.toStdString())
                entry = m;
        auto graph = importOnnxFile(folder / entry["file"].get<std::string>());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        const Graph &g = **graph;

        // Bind every symbolic input dim to the manifest's input shape.
        cost::DimBindings bindings;
        for (const auto &input : entry["inputs"]) {
            auto id = g.findValue(input["name"].get<std::string>());
            QVERIFY(id);
            const auto &dims = g.value(*id).info.shape.dims;
            auto shape = input["shape"].get<std::vector<std::int64_t>>();
            QCOMPARE(dims.size(), shape.size());
            for (std::size_t i = 0; i < dims.size(); ++i) {
                if (dims[i].isSymbolic())
                    bindings.dims[dims[i].symbol] = shape[i];
                else
                    QCOMPARE(dims[i].value, shape[i]);
            }
        }
        auto costs = cost::computeCost(g, bindings);
        QVERIFY(costs.ok());
        QVERIFY2(costs->total.exact, "every shape should resolve at the manifest's input shapes");

        // Exact: the framework's own parameter count.
        QCOMPARE(costs->total.paramCount, entry["param_count"].get<std::uint64_t>());
        QCOMPARE(g.nodes().size(), entry["node_count"].get<std::size_t>());

        // Exact: torch.profiler's Conv/Gemm/MatMul FLOPs (no bias adds) equal
        // our per-node figures for those ops minus their bias terms.
        double matmulConv = 0;
        for (std::size_t n = 0; n < g.nodes().size(); ++n) {
            const Node &node = g.nodes()[n];
            if (node.opType != "Conv" && node.opType != "Gemm" && node.opType != "MatMul")
                continue;
            double flops = costs->nodes[n].flops;
            if (node.opType != "MatMul" && node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
                const auto &out = costs->valueShapes[static_cast<std::size_t>(node.outputs[0])];
                QVERIFY(out);
                double elements = 1;
                for (auto d : *out)
                    elements *= static_cast<double>(d);
                flops -= elements; // the bias add
            }
            matmulConv += flops;
        }
        QCOMPARE(matmulConv, entry["matmul_conv_flops"].get<double>());
        // Plausible total: the products dominate; everything else (elementwise,
        // norms, softmax) adds less than the products themselves for these models.
        QVERIFY(costs->total.flops >= matmulConv);
        QVERIFY(costs->total.flops < 2 * matmulConv);

        // Baked-in batch detection agrees with the fixture's own note.
        std::string reason;
        bool symbolic = cost::batchIsSymbolicThroughout(g, &reason);
        QCOMPARE(!symbolic, entry.value("batch_baked", false));
    }

    void mlpFlopsByHand()
    {
        const fs::path model = fs::path(SB_TESTDATA_DIR) / "models" / "mlp.onnx";
        if (!fs::exists(model))
            QSKIP("mlp fixture absent");
        auto graph = importOnnxFile(model);
        QVERIFY(graph.ok());
        cost::DimBindings bindings;
        bindings.batch = 2;
        auto costs = cost::computeCost(**graph, bindings);
        QVERIFY(costs.ok());
        // 64 -> 128 -> 64 -> 10 MLP at batch 2 (Gemm with bias, Relu, Softmax):
        const double gemm1 = 2.0 * 2 * 128 * 64 + 2 * 128, relu1 = 2 * 128;
        const double gemm2 = 2.0 * 2 * 64 * 128 + 2 * 64, relu2 = 2 * 64;
        const double gemm3 = 2.0 * 2 * 10 * 64 + 2 * 10, softmax = 2 * 10;
        QCOMPARE(costs->total.flops, gemm1 + relu1 + gemm2 + relu2 + gemm3 + softmax);
        QCOMPARE(costs->total.paramCount,
                 std::uint64_t{64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10});
    }
};

QTEST_GUILESS_MAIN(TestGraph)
#include "test_graph.moc"
