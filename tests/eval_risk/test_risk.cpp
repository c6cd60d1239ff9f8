// Robustness, poisoning screen and membership inference (issue 18), through
// the core API and the CLI. References: tests/data/risk/make_risk_fixtures.py
// (scikit-learn StandardScaler + NearestNeighbors, roc_auc_score, roc_curve;
// numpy confident learning) on the committed fixtures; `eval --model` for the
// zero-strength robustness point.
#include "core/common/sha256.h"
#include "core/eval/csv.h"
#include "core/eval/poisoning.h"
#include "core/eval/rules.h"
#include "core/governance/evidence.h"
#include "core/governance/report.h"
#include "core/store/store.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

using nlohmann::json;

namespace {

const QString kRisk = QStringLiteral(SB_TESTDATA_DIR "/risk/");
const QString kDemo = QStringLiteral(SB_SOURCE_DIR "/resources/demo/");

struct Run
{
    int exitCode = -1;
    QByteArray out, err;
    json parsed() const { return json::parse(out.toStdString(), nullptr, false); }
};

Run cli(const QStringList &arguments)
{
    QProcess process;
    process.start(QStringLiteral(SB_CLI_PATH), arguments);
    Run run;
    if (!process.waitForFinished(200000)) {
        process.kill();
        process.waitForFinished();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

json readJson(const QString &path)
{
    std::ifstream in(path.toStdString());
    return json::parse(in);
}

// The first line of a CSV, fields from `first` to `last` (0-based, inclusive).
QString headerFields(const QString &path, int first, int last)
{
    std::ifstream in(path.toStdString());
    std::string line;
    std::getline(in, line);
    return QString::fromStdString(line).split(',').mid(first, last - first + 1).join(',');
}

// Equal JSON, numbers within 1e-6 relative or 1e-9 absolute: two processes
// may pick different (equally correct) conv/matmul implementations by timing
// (onednn.h), whose results differ in the last bits; a difference of two
// nearly equal metrics (a robustness curve's ECE drop of -5.0e-7) keeps those
// bits' absolute size (1.3e-11 apart) but not their relative one. The path
// of the first difference, or "".
std::string differenceOf(const json &a, const json &b, const std::string &path = "$")
{
    if (a.is_number() && b.is_number()) {
        const double x = a.get<double>(), y = b.get<double>();
        const bool close = std::abs(x - y) <= 1e-6 * std::max(std::abs(x), std::abs(y)) + 1e-9;
        return close ? "" : path + ": " + a.dump() + " vs " + b.dump();
    }
    if (a.type() != b.type() || a.size() != b.size())
        return path + ": " + a.dump().substr(0, 80) + " vs " + b.dump().substr(0, 80);
    if (a.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (!b.contains(it.key()))
                return path + "." + it.key() + ": missing";
            if (auto d = differenceOf(it.value(), b.at(it.key()), path + "." + it.key());
                !d.empty())
                return d;
        }
        return "";
    }
    if (a.is_array()) {
        for (std::size_t i = 0; i < a.size(); ++i)
            if (auto d = differenceOf(a[i], b[i], path + "[" + std::to_string(i) + "]"); !d.empty())
                return d;
        return "";
    }
    return a == b ? "" : path + ": " + a.dump() + " vs " + b.dump();
}

#define SB_COMPARE_JSON(a, b)                                                                      \
    do {                                                                                           \
        const std::string difference = differenceOf((a), (b));                                     \
        QVERIFY2(difference.empty(), difference.c_str());                                          \
    } while (false)

QString demoFeatures()
{
    return headerFields(kDemo + "current.csv", 3, 32);
}

QString miaFeatures()
{
    return headerFields(kRisk + "mia_train.csv", 0, 19);
}

} // namespace

class TestRisk : public QObject
{
    Q_OBJECT

private slots:
    // kNN label disagreement per row = scikit-learn's, for k = 5 and 10; the
    // confident-learning issues = the numpy reference.
    void knnDisagreementMatchesScikitLearn_data()
    {
        QTest::addColumn<int>("k");
        QTest::newRow("k=5") << 5;
        QTest::newRow("k=10") << 10;
    }
    void knnDisagreementMatchesScikitLearn()
    {
        QFETCH(int, k);
        const json ref = readJson(kRisk + "demo_train_flipped.json");
        auto table = sb::eval::readCsv((kRisk + "demo_train_flipped.csv").toStdString());
        QVERIFY(table.ok());
        sb::eval::PoisoningOptions options;
        options.label = "label";
        for (const QString &f : demoFeatures().split(','))
            options.features.push_back(f.toStdString());
        options.probaPrefix = "oof_";
        options.k = k;
        options.minDisagreement = -1; // list every row
        auto report = sb::eval::screenPoisoning(*table, options);
        QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
        const json &expected = ref["knn_disagreement"][std::to_string(k)];
        QCOMPARE(report->json["rows"].size(), expected.size());
        for (const json &row : report->json["rows"]) {
            const std::size_t r = row["row"].get<std::size_t>();
            QCOMPARE(row["knn_disagreement"].get<double>(), expected[r].get<double>());
        }
        std::set<std::size_t> issues, expectedIssues;
        for (const json &f : report->json["findings"])
            if (f["check"] == "confident_learning")
                issues.insert(f["rows"][0].get<std::size_t>());
        for (const json &i : ref["confident_learning"]["issues"])
            expectedIssues.insert(i.get<std::size_t>());
        QCOMPARE(issues, expectedIssues);
        const json &thresholds = report->json["confident_learning"]["thresholds"];
        QCOMPARE(thresholds["0"].get<double>(),
                 ref["confident_learning"]["thresholds"][0].get<double>());
        QCOMPARE(thresholds["1"].get<double>(),
                 ref["confident_learning"]["thresholds"][1].get<double>());
    }

    // Acceptance: >= 70 % of the flipped rows in the screen's top 10 % of rows.
    void flippedLabelsRankHigh_data()
    {
        QTest::addColumn<QStringList>("extra");
        QTest::newRow("knn only") << QStringList();
        QTest::newRow("with out-of-fold probabilities") << QStringList{"--proba-prefix", "oof_"};
    }
    void flippedLabelsRankHigh()
    {
        QFETCH(QStringList, extra);
        const json ref = readJson(kRisk + "demo_train_flipped.json");
        Run run = cli(QStringList{"poisoning", "--data", kRisk + "demo_train_flipped.csv",
                                  "--label", "label", "--features", demoFeatures(), "--json"} +
                      extra);
        QCOMPARE(run.exitCode, 0);
        const json r = run.parsed();
        const std::size_t rows = r["summary"]["rows"].get<std::size_t>();
        QCOMPARE(rows, std::size_t(190));
        std::set<std::size_t> top;
        for (const json &row : r["rows"]) {
            if (top.size() == rows / 10)
                break;
            top.insert(row["row"].get<std::size_t>());
            QVERIFY(!row["reasons"].empty());
        }
        std::size_t found = 0;
        for (const json &f : ref["flipped"])
            found += top.count(f.get<std::size_t>());
        qInfo("flipped rows in the top 10%%: %zu of %zu", found, ref["flipped"].size());
        QVERIFY(found * 10 >= ref["flipped"].size() * 7);
        // Scores descend.
        double previous = INFINITY;
        for (const json &row : r["rows"]) {
            QVERIFY(row["score"].get<double>() <= previous);
            previous = row["score"].get<double>();
        }
    }

    void duplicateConflictsAndQualityTrain()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("dups.csv");
        {
            std::ofstream out(path.toStdString());
            out << "a,b,label\n1,2,0\n1,2,1\n5,5,0\n5.0000001,5,1\n9,9,0\n8,9,0\n9,8,0\n0,0,1\n";
        }
        Run run = cli({"poisoning", "--data", path, "--label", "label", "--k", "2", "--json"});
        QCOMPARE(run.exitCode, 0);
        const json r = run.parsed();
        QCOMPARE(r["summary"]["exact_duplicate_conflict_groups"].get<int>(), 1);
        QCOMPARE(r["summary"]["near_duplicate_conflict_groups"].get<int>(), 1);
        bool exact = false;
        for (const json &f : r["findings"])
            if (f["check"] == "exact_duplicate_conflict") {
                QCOMPARE(f["rows"], json::array({0, 1}));
                exact = true;
            }
        QVERIFY(exact);
        // quality --train embeds the same screen.
        Run quality = cli({"quality", "--train", path, "--label", "label", "--k", "2", "--json"});
        QCOMPARE(quality.exitCode, 0);
        const json q = quality.parsed();
        QVERIFY(q.contains("poisoning"));
        QCOMPARE(q["poisoning"]["summary"], r["summary"]);
    }

    // MIA: AUC and advantage equal scikit-learn's on the committed scores, and
    // through the engine on the committed models; the overfit MLP leaks more.
    void membershipInferenceMatchesScikitLearn_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("overfit") << "overfit";
        QTest::newRow("regularised") << "regularised";
    }
    void membershipInferenceMatchesScikitLearn()
    {
        QFETCH(QString, model);
        const json ref = readJson(kRisk + "mia_reference.json")[model.toStdString()];
        Run scores = cli({"privacy", "--train-scores", kRisk + "mia_" + model + "_train_scores.csv",
                          "--test-scores", kRisk + "mia_" + model + "_test_scores.csv", "--label",
                          "label", "--slice", "a: group == a", "--bootstrap", "200", "--json"});
        QCOMPARE(scores.exitCode, 0);
        Run engine = cli({"privacy", "--model", kRisk + "mia_" + model + ".onnx", "--train",
                          kRisk + "mia_train.csv", "--test", kRisk + "mia_test.csv", "--label",
                          "label", "--features", miaFeatures(), "--slice", "a: group == a",
                          "--bootstrap", "200", "--json"});
        QCOMPARE(engine.exitCode, 0);
        for (const json &r : {scores.parsed(), engine.parsed()}) {
            const bool exact = r["scores"].get<std::string>().rfind("columns", 0) == 0;
            // The engine's float32 probabilities may differ from torch's in the
            // last bit; ranks (and so AUC/advantage) agree to 1e-9 here.
            const double tol = exact ? 1e-12 : 1e-9;
            QCOMPARE(r["members"].get<int>(), 200);
            QCOMPARE(r["non_members"].get<int>(), 200);
            for (const json &a : r["attacks"]) {
                const json &e = ref["overall"][a["name"].get<std::string>()];
                QVERIFY(std::fabs(a["auc"].get<double>() - e["auc"].get<double>()) <= tol);
                QVERIFY(std::fabs(a["advantage"].get<double>() - e["advantage"].get<double>()) <=
                        tol);
                QVERIFY(a["auc_ci"][0].get<double>() <= a["auc"].get<double>());
                QVERIFY(a["auc_ci"][1].get<double>() >= a["auc"].get<double>());
                QCOMPARE(a["roc"]["fpr"].front().get<double>(), 0.0);
                QCOMPARE(a["roc"]["tpr"].back().get<double>(), 1.0);
            }
            const json &slice = r["slices"][0];
            for (const json &a : slice["attacks"]) {
                const json &e = ref["group_a"][a["name"].get<std::string>()];
                QVERIFY(std::fabs(a["auc"].get<double>() - e["auc"].get<double>()) <= tol);
                QVERIFY(std::fabs(a["advantage"].get<double>() - e["advantage"].get<double>()) <=
                        tol);
            }
            QVERIFY(!r["reading"].empty());
            QCOMPARE(r["model_inversion"]["outputs"].get<std::string>(),
                     std::string("full_probabilities"));
        }
        QCOMPARE(engine.parsed()["model_inversion"]["number_format"].get<std::string>(),
                 std::string("float32"));
    }

    void overfitModelLeaksMore()
    {
        auto auc = [](const QString &model) {
            Run run = cli({"privacy", "--model", kRisk + "mia_" + model + ".onnx", "--train",
                           kRisk + "mia_train.csv", "--test", kRisk + "mia_test.csv", "--label",
                           "label", "--features", miaFeatures(), "--bootstrap", "0", "--json"});
            return run.exitCode == 0 ? run.parsed()["mia_auc"].get<double>() : -1.0;
        };
        const double overfit = auc("overfit"), regularised = auc("regularised");
        qInfo("mia_auc: overfit %.4f, regularised %.4f", overfit, regularised);
        QVERIFY(overfit > 0.7);
        QVERIFY(regularised < 0.6);
        QVERIFY(overfit - regularised > 0.1);
    }

    // Strength 0 is the plain evaluation; same seed, same report (numbers
    // within 1e-6 relative: each process picks its kernels by timing).
    void zeroStrengthEqualsEvalAndDeterministic()
    {
        const QStringList common{"--data",     kDemo + "current.csv", "--label", "label",
                                 "--features", demoFeatures(),        "--json"};
        Run eval = cli(QStringList{"eval", "--model", kDemo + "classifier.onnx", "--bootstrap", "0",
                                   "--slice", "lake: site == lakeside_clinic"} +
                       common);
        QCOMPARE(eval.exitCode, 0);
        const QStringList robust = QStringList{"robustness", kDemo + "classifier.onnx",
                                               "--slice",    "lake: site == lakeside_clinic",
                                               "--perturb",  "noise:0.1,0.5",
                                               "--perturb",  "dropout:0.25",
                                               "--perturb",  "missing:0.1",
                                               "--perturb",  "shift:1"} +
                                   common;
        Run a = cli(robust), b = cli(robust);
        Run c = cli(robust + QStringList{"--seed", "7"});
        QCOMPARE(a.exitCode, 0);
        QCOMPARE(b.exitCode, 0);
        QCOMPARE(c.exitCode, 0);
        const json e = eval.parsed(), ra = a.parsed(), rb = b.parsed(), rc = c.parsed();
        SB_COMPARE_JSON(ra, rb); // deterministic per seed
        QVERIFY(ra["curves"] != rc["curves"]);
        int zeros = 0;
        for (const json &point : ra["curves"]) {
            if (point["strength"].get<double>() != 0)
                continue;
            ++zeros;
            SB_COMPARE_JSON(point["metrics"], e["overall"]);
            SB_COMPARE_JSON(point["slices"][0]["metrics"], e["slices"][0]["metrics"]);
        }
        QCOMPARE(zeros, 2); // noise and dropout; missing is not supported here
        SB_COMPARE_JSON(ra["baseline"]["metrics"], e["overall"]);
        bool missingReported = false;
        for (const json &p : ra["perturbations"])
            if (p["name"] == "missing") {
                QCOMPARE(p["supported"].get<bool>(), false);
                QVERIFY(p["reason"].get<std::string>().find("IsNaN") != std::string::npos);
                missingReported = true;
            }
        QVERIFY(missingReported);
        QCOMPARE(ra["sensitivity"].size(), std::size_t(30));
        QCOMPARE(ra["sensitivity"][0]["rank"].get<int>(), 1);
        QVERIFY(ra["sensitivity"][0]["mean_proba_change"].get<double>() >=
                ra["sensitivity"][29]["mean_proba_change"].get<double>());
        QVERIFY(ra["summary"].contains("accuracy_drop_noise_0_1"));
        // Noise 0.5 changes predictions more than noise 0.1.
        double change01 = 0, change05 = 0;
        for (const json &point : ra["curves"]) {
            if (point["perturbation"] == "noise" && point["strength"] == 0.1)
                change01 = point["mean_proba_change"].get<double>();
            if (point["perturbation"] == "noise" && point["strength"] == 0.5)
                change05 = point["mean_proba_change"].get<double>();
        }
        QVERIFY(change01 > 0 && change05 > change01);
    }

    // A model whose graph imputes missing inputs (IsNaN -> Where): the
    // missing-value perturbation runs.
    void missingValuesWhenTheGraphHandlesThem()
    {
        Run run = cli({"robustness", kRisk + "missing_aware.onnx", "--data", kDemo + "current.csv",
                       "--label", "label", "--features", demoFeatures(), "--perturb",
                       "missing:0.1,0.5", "--json"});
        QCOMPARE(run.exitCode, 0);
        const json r = run.parsed();
        QCOMPARE(r["missing_values"]["supported"].get<bool>(), true);
        QVERIFY(r["missing_values"]["reason"].get<std::string>().find("IsNaN") !=
                std::string::npos);
        QCOMPARE(r["curves"].size(), std::size_t(3));
        QCOMPARE(r["curves"][0]["metrics"], r["baseline"]["metrics"]);
        const double change01 = r["curves"][1]["mean_proba_change"].get<double>();
        const double change05 = r["curves"][2]["mean_proba_change"].get<double>();
        QVERIFY(change01 > 0 && change05 > change01);
    }

    void gates_data()
    {
        QTest::addColumn<QString>("gate");
        QTest::addColumn<int>("exitCode");
        QTest::newRow("passes") << "accuracy_drop@noise0.1 <= 0.5" << 0;
        QTest::newRow("fails") << "accuracy_drop@dropout0.5 <= 0.0" << 3;
        QTest::newRow("absolute") << "accuracy@noise0.1 >= 2" << 3;
        QTest::newRow("unknown strength") << "accuracy_drop@noise0.3 <= 0.02" << 2;
        QTest::newRow("malformed") << "accuracy_drop <= 0.02" << 2;
        // The rule language of checklist evidence rules.
        QTest::newRow("compound passes")
            << "accuracy_drop@noise0.1 <= 0.5 and accuracy@dropout0.5 >= 0" << 0;
        QTest::newRow("compound fails")
            << "accuracy_drop@noise0.1 <= 0.5 and accuracy@noise0.1 >= 2" << 3;
        QTest::newRow("or") << "accuracy@noise0.1 >= 2 or accuracy_drop@noise0.1 <= 0.5" << 0;
        QTest::newRow("compound malformed") << "accuracy@noise0.1 >= 0 and accuracy <= 1" << 2;
    }
    void gates()
    {
        QFETCH(QString, gate);
        QFETCH(int, exitCode);
        Run run = cli({"robustness", kDemo + "classifier.onnx", "--data", kDemo + "current.csv",
                       "--label", "label", "--features", demoFeatures(), "--perturb", "noise:0.1",
                       "--perturb", "dropout:0.5", "--gate", gate, "--json"});
        QCOMPARE(run.exitCode, exitCode);
        if (exitCode == 2)
            QVERIFY(run.err.contains("gate"));
    }

    void imageRobustness()
    {
        const QStringList args{
            "robustness", kRisk + "image_cnn.onnx",   "--data", kRisk + "images.npy",
            "--label",    kRisk + "image_labels.npy", "--json"};
        Run a = cli(args), b = cli(args);
        QCOMPARE(a.exitCode, 0);
        const json r = a.parsed();
        SB_COMPARE_JSON(r, b.parsed());
        QCOMPARE(r["kind"].get<std::string>(), std::string("images"));
        std::set<std::string> names;
        for (const json &point : r["curves"]) {
            names.insert(point["perturbation"].get<std::string>());
            if (point["strength"].get<double>() == 0)
                QCOMPARE(point["metrics"]["accuracy"].get<double>(), 1.0);
        }
        QCOMPARE(names,
                 (std::set<std::string>{"image_noise", "brightness", "contrast", "translate"}));
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString model = kDemo + "classifier.onnx", data = kDemo + "current.csv";
        QTest::newRow("robustness: no label column")
            << QStringList{"robustness", model,  "--data",     data,
                           "--label",    "nope", "--features", demoFeatures()}
            << "no column 'nope'";
        QTest::newRow("robustness: bad spec")
            << QStringList{"robustness", model,        "--data",       data,        "--label",
                           "label",      "--features", demoFeatures(), "--perturb", "blur:1"}
            << "unknown perturbation 'blur'";
        QTest::newRow("robustness: missing file")
            << QStringList{"robustness", model,   "--data",     "/nonexistent.csv",
                           "--label",    "label", "--features", demoFeatures()}
            << "/nonexistent.csv";
        QTest::newRow("poisoning: categorical feature")
            << QStringList{"poisoning",  "--data",          data, "--label", "label",
                           "--features", "site,mean_radius"}
            << "column 'site' is categorical";
        QTest::newRow("poisoning: missing label column")
            << QStringList{"poisoning", "--data", data, "--label", "outcome"}
            << "no column 'outcome'";
        QTest::newRow("privacy: label not a class")
            << QStringList{"privacy",
                           "--train-scores",
                           kRisk + "mia_overfit_train_scores.csv",
                           "--test-scores",
                           kRisk + "mia_overfit_test_scores.csv",
                           "--label",
                           "group"}
            << "column 'group': label 'a'";
        QTest::newRow("privacy: both modes")
            << QStringList{"privacy",       "--model", model,     "--train-scores", data,
                           "--test-scores", data,      "--label", "label"}
            << "--model";
        QTest::newRow("quality: --train alone")
            << QStringList{"quality", "--train", data} << "--train needs";
    }
    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        Run run = cli(args);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(message.toUtf8()), run.err.constData());
    }

    void helpDocumentsJsonKeys_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("key");
        QTest::newRow("robustness") << "robustness"
                                    << "curves [{perturbation, strength, metrics";
        QTest::newRow("poisoning") << "poisoning"
                                   << "rows [{row (0-based data";
        QTest::newRow("privacy") << "privacy"
                                 << "mia_auc, mia_advantage";
    }
    void helpDocumentsJsonKeys()
    {
        QFETCH(QString, command);
        QFETCH(QString, key);
        Run run = cli({command, "--help"});
        QCOMPARE(run.exitCode, 0);
        QVERIFY2(run.out.contains(key.toUtf8()), run.out.constData());
    }

    // The figures reach governance evidence and the checklist rules.
    void evidenceFromReports()
    {
        Run robustness = cli({"robustness", kDemo + "classifier.onnx", "--data",
                              kDemo + "current.csv", "--label", "label", "--features",
                              demoFeatures(), "--perturb", "noise:0.1", "--json"});
        Run poisoning =
            cli({"poisoning", "--data", kRisk + "demo_train_flipped.csv", "--label", "label",
                 "--features", demoFeatures(), "--proba-prefix", "oof_", "--json"});
        Run privacy = cli({"privacy", "--model", kRisk + "mia_overfit.onnx", "--train",
                           kRisk + "mia_train.csv", "--test", kRisk + "mia_test.csv", "--label",
                           "label", "--features", miaFeatures(), "--bootstrap", "50", "--json"});
        QCOMPARE(robustness.exitCode, 0);
        QCOMPARE(poisoning.exitCode, 0);
        QCOMPARE(privacy.exitCode, 0);
        sb::governance::MetricMap metrics;
        sb::governance::deriveRiskMetrics(robustness.parsed(), poisoning.parsed(), privacy.parsed(),
                                          json(), metrics);
        QCOMPARE(metrics["has_robustness"], 1.0);
        QCOMPARE(metrics["accuracy_drop_noise_0_1"],
                 robustness.parsed()["summary"]["accuracy_drop_noise_0_1"].get<double>());
        QCOMPARE(metrics["label_issue_share"], 8.0 / 190.0);
        QCOMPARE(metrics["mia_auc"], privacy.parsed()["mia_auc"].get<double>());
        auto rule = sb::eval::Rule::parse("mia_auc <= 0.6");
        QVERIFY(rule.ok());
        QCOMPARE(rule->evaluate(metrics), sb::eval::Verdict::Fail); // the overfit model
        auto share = sb::eval::Rule::parse("label_issue_share <= 0.02");
        QCOMPARE(share->evaluate(metrics), sb::eval::Verdict::Fail); // 5 % flipped

        // Stored with --db for a registered version: the metrics for the
        // version, the HTML report and the model card carry them.
        QTemporaryDir dir;
        const QString db = dir.filePath("risk.db");
        {
            auto store = sb::store::Store::open(db.toStdString());
            QVERIFY(store.ok());
            sb::store::NewModelVersion input;
            input.modelName = "mia-overfit";
            input.filePath = (kRisk + "mia_overfit.onnx").toStdString();
            auto digest = sb::sha256File(input.filePath);
            QVERIFY(digest.ok());
            input.sha256 = *digest;
            input.sizeBytes = 1;
            QVERIFY((*store)->models().addVersion(input).ok());
        }
        Run stored = cli({"privacy", "--model", kRisk + "mia_overfit.onnx", "--train",
                          kRisk + "mia_train.csv", "--test", kRisk + "mia_test.csv", "--label",
                          "label", "--features", miaFeatures(), "--bootstrap", "50", "--db", db});
        QCOMPARE(stored.exitCode, 0);
        QVERIFY2(stored.err.contains("stored privacy report"), stored.err.constData());
        Run screen =
            cli({"poisoning", "--data", kRisk + "demo_train_flipped.csv", "--label", "label",
                 "--features", demoFeatures(), "--db", db, "--model", kRisk + "mia_overfit.onnx"});
        QCOMPARE(screen.exitCode, 0);
        auto store = sb::store::Store::open(db.toStdString());
        QVERIFY(store.ok());
        auto version = (*store)->findModelVersionByFile((kRisk + "mia_overfit.onnx").toStdString());
        QVERIFY(version.ok() && version->has_value());
        auto forVersion = sb::governance::metricsForVersion(**store, (*version)->id);
        QVERIFY(forVersion.ok());
        QCOMPARE((*forVersion)["has_privacy"], 1.0);
        QCOMPARE((*forVersion)["mia_auc"], privacy.parsed()["mia_auc"].get<double>());
        QCOMPARE((*forVersion)["has_poisoning"], 1.0);
        auto data = sb::governance::gatherReport(**store, **version);
        QVERIFY(data.ok());
        const std::string html = sb::governance::renderReportHtml(*data);
        QVERIFY(html.find("Robustness and adversarial risk") != std::string::npos);
        QVERIFY(html.find("loss_threshold") != std::string::npos);
        QVERIFY(html.find("Poisoning screen") != std::string::npos);
        const json card = sb::governance::buildModelCard(*data);
        bool miaInCard = false;
        for (const json &m : card["quantitative_analysis"]["performance_metrics"])
            miaInCard = miaInCard || m["type"] == "membership_inference_auc";
        QVERIFY(miaInCard);
    }
};

QTEST_GUILESS_MAIN(TestRisk)
#include "test_risk.moc"
