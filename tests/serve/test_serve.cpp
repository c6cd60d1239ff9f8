// core/serve units: protocol tensors, batching helpers, metrics text, trigger
// rules over window histories, token comparison and the loopback rule, and
// the in-process server answering through the batcher.
#include "core/serve/batcher.h"
#include "core/serve/monitor.h"
#include "core/serve/server.h"
#include "core/serve/tensor_json.h"
#include "kernels/registry.h"

#include <QtTest>

using namespace sb;
using nlohmann::json;

namespace {

graph::TensorInfo info(graph::ElementType type, std::vector<graph::Dim> dims)
{
    graph::TensorInfo out;
    out.type = type;
    out.shape.rankKnown = true;
    out.shape.dims = std::move(dims);
    return out;
}

store::MonitorWindowRecord window(bool drift, double estimated = 0.95)
{
    store::MonitorWindowRecord w;
    w.shareDrifted = drift ? 0.6 : 0.1;
    w.datasetDrift = drift;
    w.estimatedAccuracy = estimated;
    return w;
}

} // namespace

class TestServe : public QObject
{
    Q_OBJECT
private slots:
    void datatypes_data()
    {
        QTest::addColumn<QString>("datatype");
        QTest::addColumn<int>("type");
        QTest::addColumn<QString>("data");
        QTest::addColumn<double>("last");
        using T = graph::ElementType;
        QTest::newRow("BOOL") << "BOOL" << int(T::Bool) << "[true,false,true]" << 1.0;
        QTest::newRow("UINT8") << "UINT8" << int(T::UInt8) << "[0,7,255]" << 255.0;
        QTest::newRow("UINT16") << "UINT16" << int(T::UInt16) << "[0,7,65535]" << 65535.0;
        QTest::newRow("UINT32") << "UINT32" << int(T::UInt32) << "[0,7,4294967295]" << 4294967295.0;
        QTest::newRow("UINT64") << "UINT64" << int(T::UInt64) << "[0,7,9007199254740992]"
                                << 9007199254740992.0;
        QTest::newRow("INT8") << "INT8" << int(T::Int8) << "[-128,7,127]" << 127.0;
        QTest::newRow("INT16") << "INT16" << int(T::Int16) << "[-3,7,-32768]" << -32768.0;
        QTest::newRow("INT32") << "INT32" << int(T::Int32) << "[-3,7,-2147483648]" << -2147483648.0;
        QTest::newRow("INT64") << "INT64" << int(T::Int64) << "[-3,7,-4000000000]" << -4000000000.0;
        QTest::newRow("FP16") << "FP16" << int(T::Float16) << "[0.5,7,-2.25]" << -2.25;
        QTest::newRow("BF16") << "BF16" << int(T::BFloat16) << "[0.5,7,-2.25]" << -2.25;
        QTest::newRow("FP32") << "FP32" << int(T::Float32) << "[[0.5],[7],[0.1]]" << double(0.1f);
        QTest::newRow("FP64") << "FP64" << int(T::Float64) << "[0.5,7,0.1]" << 0.1;
    }
    void datatypes()
    {
        QFETCH(QString, datatype);
        QFETCH(int, type);
        QFETCH(QString, data);
        QFETCH(double, last);
        const auto t = static_cast<graph::ElementType>(type);
        json input = {{"name", "x"},
                      {"datatype", datatype.toStdString()},
                      {"shape", {3, 1}},
                      {"data", json::parse(data.toStdString())}};
        auto tensor = serve::tensorFromJson(
            input, info(t, {graph::Dim::symbolic("batch"), graph::Dim::known(1)}), 100);
        QVERIFY2(tensor.ok(), tensor.ok() ? "" : tensor.error().message.c_str());
        QCOMPARE(tensor->type(), t);
        QCOMPARE(serve::elementAsDouble(*tensor, 2), last);
        json back = serve::tensorToJson("x", *tensor);
        QCOMPARE(back["datatype"].get<std::string>(), datatype.toStdString());
        QCOMPARE(back["shape"], json({3, 1}));
        if (t == graph::ElementType::Bool)
            QCOMPARE(back["data"][2].get<bool>(), last != 0.0);
        else
            QCOMPARE(back["data"][2].get<double>(), last);
    }

    void rejectsBadTensors_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("needle");
        QTest::newRow("dtype") << R"({"name":"x","datatype":"FP64","shape":[1,2],"data":[1,2]})"
                               << "does not match the model's FP32";
        QTest::newRow("rank") << R"({"name":"x","datatype":"FP32","shape":[2],"data":[1,2]})"
                              << "does not match";
        QTest::newRow("fixed dim")
            << R"({"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]})"
            << "dim 1";
        QTest::newRow("count") << R"({"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3]})"
                               << "needs 4 values";
        QTest::newRow("too many") << R"({"name":"x","datatype":"FP32","shape":[60,2],"data":[]})"
                                  << "more than 100";
        QTest::newRow("string") << R"({"name":"x","datatype":"FP32","shape":[1,2],"data":[1,"a"]})"
                                << "not a number";
        QTest::newRow("unknown dtype")
            << R"({"name":"x","datatype":"BYTES","shape":[1,2],"data":[1,2]})"
            << "not supported";
    }
    void rejectsBadTensors()
    {
        QFETCH(QString, input);
        QFETCH(QString, needle);
        auto tensor =
            serve::tensorFromJson(json::parse(input.toStdString()),
                                  info(graph::ElementType::Float32,
                                       {graph::Dim::symbolic("batch"), graph::Dim::known(2)}),
                                  100);
        QVERIFY(!tensor.ok());
        QVERIFY2(tensor.error().message.find(needle.toStdString()) != std::string::npos,
                 tensor.error().message.c_str());
    }

    void integerRanges()
    {
        auto parse = [](const char *type, graph::ElementType t, json value) {
            return serve::tensorFromJson(
                {{"name", "x"}, {"datatype", type}, {"shape", {1}}, {"data", {value}}},
                info(t, {graph::Dim::known(1)}), 10);
        };
        QVERIFY(!parse("UINT8", graph::ElementType::UInt8, 256).ok());
        QVERIFY(!parse("UINT8", graph::ElementType::UInt8, -1).ok());
        QVERIFY(!parse("INT8", graph::ElementType::Int8, -129).ok());
        QVERIFY(!parse("INT32", graph::ElementType::Int32, 1.5).ok());
        QVERIFY(!parse("BOOL", graph::ElementType::Bool, 2).ok());
        QVERIFY(parse("INT32", graph::ElementType::Int32, 3.0).ok());
    }

    void concatAndSlice()
    {
        auto a = runtime::Tensor::fromVector<float>(graph::ElementType::Float32, {1, 3}, {1, 2, 3});
        auto b = runtime::Tensor::fromVector<float>(graph::ElementType::Float32, {2, 3},
                                                    {4, 5, 6, 7, 8, 9});
        auto joined = serve::concatRows({&a, &b});
        QCOMPARE(joined.shape(), (runtime::Shape{3, 3}));
        QCOMPARE(joined.as<float>()[8], 9.0f);
        auto middle = serve::sliceRows(joined, 1, 1);
        QCOMPARE(middle.shape(), (runtime::Shape{1, 3}));
        QCOMPARE(middle.as<float>()[0], 4.0f);
    }

    void triggersKOfN()
    {
        auto drift = serve::parseTrigger("drift=drifted_windows.last_3 >= 2");
        QVERIFY(drift.ok());
        std::vector<serve::Trigger> triggers{*drift};
        std::vector<store::MonitorWindowRecord> history;
        std::vector<int> firedAt;
        const bool pattern[] = {false, true, false, true, true, true, false, false, true, true};
        for (int i = 0; i < 10; ++i) {
            history.push_back(window(pattern[i]));
            if (!serve::evaluateTriggers(triggers, history).empty())
                firedAt.push_back(i);
        }
        // Holds at 3 (1 and 3 in the last three), stays on through 5, off at
        // 7 (only 5 in 5..7), on again at 9.
        QCOMPARE(firedAt, (std::vector<int>{3, 9}));
        auto accuracy = serve::parseTrigger("accuracy=estimated_accuracy < 0.9");
        QVERIFY(accuracy.ok());
        history = {window(false, 0.95), window(false, 0.85)};
        auto fired = serve::evaluateTriggers({*accuracy}, history);
        QCOMPARE(fired.size(), std::size_t(1));
        QCOMPARE(fired[0].metrics["estimated_accuracy"].get<double>(), 0.85);
        // No estimate (not a classifier): Unknown, never fires.
        store::MonitorWindowRecord plain;
        QVERIFY(serve::evaluateTriggers({*accuracy}, {plain}).empty());
        QVERIFY(!serve::parseTrigger("drifted_windows.last_3 >= 2").ok());
        QVERIFY(!serve::parseTrigger("x=share_drifted >>> 2").ok());
    }

    void tokensAndHosts()
    {
        QVERIFY(serve::constantTimeEquals("abc", "abc"));
        QVERIFY(!serve::constantTimeEquals("abc", "abd"));
        QVERIFY(!serve::constantTimeEquals("abc", "abcd"));
        QVERIFY(!serve::constantTimeEquals("", "a"));
        QVERIFY(serve::isLoopbackHost("127.0.0.1"));
        QVERIFY(serve::isLoopbackHost("127.3.0.1"));
        QVERIFY(serve::isLoopbackHost("::1"));
        QVERIFY(serve::isLoopbackHost("localhost"));
        QVERIFY(!serve::isLoopbackHost("0.0.0.0"));
        QVERIFY(!serve::isLoopbackHost("10.1.2.3"));
        QVERIFY(!serve::isLoopbackHost("::"));
    }

    void refusesPublicBindWithoutToken()
    {
        serve::EngineSpec spec;
        spec.model = SB_SOURCE_DIR "/resources/demo/classifier.onnx";
        spec.name = "classifier";
        auto engine = serve::Engine::load(spec, kernels::defaultRegistry());
        QVERIFY(engine.ok());
        serve::ServerOptions options;
        options.host = "0.0.0.0";
        auto server = serve::InferenceServer::create(options, *engine);
        QVERIFY(!server.ok());
        QCOMPARE(server.error().code, ErrorCode::InvalidInput);
        options.token = "t";
        options.port = 0;
        options.host = "127.0.0.1";
        server = serve::InferenceServer::create(options, *engine);
        QVERIFY(server.ok());
    }

    void batcherMergesAndIsolatesFailures()
    {
        serve::EngineSpec spec;
        spec.model = SB_SOURCE_DIR "/resources/demo/classifier.onnx";
        spec.name = "classifier";
        auto engine = serve::Engine::load(spec, kernels::defaultRegistry());
        QVERIFY(engine.ok());
        QVERIFY((*engine)->batchable());
        serve::ServeMetrics metrics;
        std::shared_ptr<const serve::Engine> current = *engine;
        serve::BatcherOptions options;
        options.maxBatch = 8;
        options.maxDelayMs = 200;
        serve::Batcher batcher(
            options, [&] { return current; }, metrics);
        std::vector<std::future<serve::JobOutcome>> futures;
        for (int i = 0; i < 4; ++i) {
            serve::InferenceJob job;
            std::vector<float> row(30, static_cast<float>(i));
            job.inputs["features"] =
                runtime::Tensor::fromVector(graph::ElementType::Float32, {1, 30}, row);
            auto submitted = batcher.submit(std::move(job));
            QVERIFY(submitted.ok());
            futures.push_back(std::move(*submitted));
        }
        for (int i = 0; i < 4; ++i) {
            auto outcome = futures[static_cast<std::size_t>(i)].get();
            QVERIFY(outcome.ok);
            std::vector<float> row(30, static_cast<float>(i));
            auto alone = (*engine)->run(
                {{"features",
                  runtime::Tensor::fromVector(graph::ElementType::Float32, {1, 30}, row)}});
            QVERIFY(alone.ok());
            const auto &got = outcome.outputs.at("probabilities");
            const auto &want = alone->outputs.at("probabilities");
            QVERIFY(std::abs(got.as<float>()[1] - want.as<float>()[1]) < 1e-6f);
        }
        // All four arrived within the delay: one engine run of 4 rows.
        const auto stats = metrics.statisticsJson("c", "1")["model_stats"][0];
        QCOMPARE(stats["execution_count"].get<int>(), 1);
        QCOMPARE(stats["inference_count"].get<int>(), 4);
        batcher.stop();
        serve::InferenceJob late;
        QVERIFY(!batcher.submit(std::move(late)).ok());
    }

    void monitorRepository()
    {
        QTemporaryDir dir;
        auto opened = store::Store::open(dir.filePath("m.db").toStdString());
        QVERIFY(opened.ok());
        store::Store &db = **opened;
        store::MonitorWindowRecord window;
        window.model = "clf";
        window.version = "1";
        window.rows = 3;
        window.requests = 3;
        window.estimatedAccuracy = 0.9;
        window.shareDrifted = 0.5;
        window.datasetDrift = true;
        std::vector<store::MonitorPrediction> predictions{
            {"a", 0, "1", 0.9}, {"b", 0, "0", 0.8}, {"c", 0, "1", 0.7}};
        store::MonitorAlertRecord alert;
        alert.model = "clf";
        alert.version = "1";
        alert.trigger = "drift";
        alert.rule = "dataset_drift >= 1";
        auto saved = db.monitor().saveWindow(window, predictions, {alert});
        QVERIFY(saved.ok());
        QVERIFY(saved->id > 0);
        auto alerts = db.monitor().alerts("clf");
        QVERIFY(alerts.ok());
        QCOMPARE(alerts->size(), std::size_t(1));
        QCOMPARE(alerts->front().windowId, saved->id);
        auto audit = db.audit().entries();
        QVERIFY(audit.ok());
        QCOMPARE(audit->back().action, std::string("monitor.alert"));
        QCOMPARE(audit->back().subject, std::string("clf:1"));
        // Labels: a right, b wrong, c right, d unknown -> realized 2/3.
        auto feedback = db.monitor().applyFeedback(
            {{"a", 0, "1"}, {"b", 0, "1"}, {"c", 0, "1"}, {"d", 0, "0"}}, "labels.csv");
        QVERIFY(feedback.ok());
        QCOMPARE(feedback->matched, std::int64_t(3));
        QCOMPARE(feedback->unmatched, std::int64_t(1));
        auto windows = db.monitor().windows("clf");
        QVERIFY(windows.ok());
        QCOMPARE(windows->size(), std::size_t(1));
        QCOMPARE(*windows->front().realizedAccuracy, 2.0 / 3.0);
        QCOMPARE(windows->front().labelled, std::int64_t(3));
        auto verified = db.audit().verify();
        QVERIFY(verified.ok() && verified->ok);
        // Active deployments per environment.
        store::NewModelVersion input;
        input.modelName = "clf";
        input.filePath = "/x.onnx";
        input.sha256 = "1";
        auto v1 = db.models().addVersion(input);
        input.sha256 = "2";
        auto v2 = db.models().addVersion(input);
        QVERIFY(v1.ok() && v2.ok());
        QVERIFY(db.deployments().promote(*v1, "prod").ok());
        QVERIFY(db.deployments().promote(*v2, "prod").ok());
        QVERIFY(db.deployments().promote(*v1, "staging").ok());
        auto active = db.deployments().activeInEnv("prod");
        QVERIFY(active.ok());
        QCOMPARE(active->size(), std::size_t(1));
        QCOMPARE(active->front().first, std::string("clf"));
        QCOMPARE(active->front().second.version, 2);
    }

    void prometheusText()
    {
        serve::ServeMetrics metrics;
        metrics.recordSuccess(120);
        metrics.recordFailure("BACKEND", 50);
        metrics.recordBatch(4, 300, {0.1, 0.2}, {"cpu:0", "cpu:1"});
        const std::string text = metrics.prometheusText("m", "2");
        QVERIFY(text.find("nv_inference_request_success{model=\"m\",version=\"2\"} 1\n") !=
                std::string::npos);
        QVERIFY(text.find("reason=\"BACKEND\"} 1\n") != std::string::npos);
        QVERIFY(text.find("nv_inference_request_duration_us_bucket{model=\"m\",version=\"2\","
                          "le=\"250\"} 1\n") != std::string::npos);
        QVERIFY(text.find("sb_inference_batch_size_bucket{model=\"m\",version=\"2\",le=\"2\"} 0") !=
                std::string::npos);
        QVERIFY(text.find("sb_inference_batch_size_bucket{model=\"m\",version=\"2\",le=\"4\"} 1") !=
                std::string::npos);
        QVERIFY(text.find("sb_stage_busy_us_total{model=\"m\",version=\"2\",stage=\"1\",device="
                          "\"cpu:1\"} 200\n") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestServe)
#include "test_serve.moc"
