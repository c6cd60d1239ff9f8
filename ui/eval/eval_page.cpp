#include "ui/eval/eval_page.h"

#include "ui/common/chart_export.h"
#include "ui/common/store_access.h"
#include "ui/common/user_message.h"
#include "ui/eval/charts.h"
#include "ui/eval/eval_backend.h"
#include "ui/eval/eval_store.h"
#include "ui/eval/risk_panel.h"

#include "core/common/paths.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineEdit>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QScrollArea>
#include <QStandardItemModel>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>
#include <QValueAxis>

#include <cmath>
#include <fstream>
#include <optional>

namespace sb::ui {

using nlohmann::json;

namespace {

double number(const json &value, double fallback = qQNaN())
{
    if (value.is_number())
        return value.get<double>();
    return fallback;
}

QString text(const json &value)
{
    if (value.is_string())
        return QString::fromStdString(value.get<std::string>());
    if (value.is_number_integer())
        return QString::number(value.get<std::int64_t>());
    if (value.is_number())
        return QString::number(value.get<double>(), 'g', 6);
    if (value.is_boolean())
        return value.get<bool>() ? QStringLiteral("yes") : QStringLiteral("no");
    if (value.is_null())
        return QString();
    return QString::fromStdString(value.dump());
}

// A CI as [low, high] or {low|lower, high|upper}.
std::pair<double, double> interval(const json &ci)
{
    if (ci.is_array() && ci.size() == 2)
        return {number(ci[0]), number(ci[1])};
    if (ci.is_object()) {
        const double low =
            ci.contains("low") ? number(ci["low"]) : number(ci.value("lower", json()));
        const double high =
            ci.contains("high") ? number(ci["high"]) : number(ci.value("upper", json()));
        return {low, high};
    }
    return {qQNaN(), qQNaN()};
}

QTableView *makeTable(QStandardItemModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->setModel(model);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setStretchLastSection(true);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setAlternatingRowColors(true);
    view->setMinimumHeight(150);
    return view;
}

QStandardItem *cell(const QString &value)
{
    auto *item = new QStandardItem(value);
    item->setEditable(false);
    return item;
}

QString formatMetric(double value)
{
    return std::isnan(value) ? QStringLiteral("—") : QString::number(value, 'f', 4);
}

bool sameLabel(const QString &a, const QString &b)
{
    if (a == b)
        return true;
    bool okA = false, okB = false;
    const double x = a.toDouble(&okA), y = b.toDouble(&okB);
    return okA && okB && x == y;
}

// What one press of Evaluate produces: the reports, and where they were stored.
struct EvalOutcome
{
    EvalReports reports;
    std::optional<StoredEvaluation> stored;
    QString storeError;
};

json readJsonFile(const QString &path)
{
    std::ifstream in(path.toStdString());
    if (!in)
        return json();
    return json::parse(in, nullptr, false);
}

} // namespace

EvalPage::EvalPage(TaskRunner *tasks, QWidget *parent) : QWidget(parent), m_tasks(tasks)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);

    // Inputs.
    auto *inputs = new QGroupBox(tr("Data"), this);
    auto *form = new QGridLayout(inputs);
    auto *reference = new QLineEdit(inputs);
    reference->setObjectName("referencePath");
    reference->setPlaceholderText(tr("reference.csv (drift baseline)"));
    auto *current = new QLineEdit(inputs);
    current->setObjectName("currentPath");
    current->setPlaceholderText(tr("current.csv (evaluated)"));
    auto *label = new QComboBox(inputs);
    label->setObjectName("labelColumn");
    label->setEditable(true);
    auto *prediction = new QComboBox(inputs);
    prediction->setObjectName("predictionColumn");
    prediction->setEditable(true);
    auto *model = new QLineEdit(inputs);
    model->setObjectName("modelPath");
    model->setPlaceholderText(tr("model.onnx the scores come from (results are stored for its "
                                 "registered version)"));
    auto *evaluate = new QPushButton(tr("Evaluate"), inputs);
    evaluate->setObjectName("evaluateButton");
    auto *loadReports = new QPushButton(tr("Load Report JSON…"), inputs);
    form->addWidget(new QLabel(tr("Reference:")), 0, 0);
    form->addWidget(reference, 0, 1);
    form->addWidget(new QLabel(tr("Current:")), 0, 2);
    form->addWidget(current, 0, 3);
    form->addWidget(new QLabel(tr("Label column:")), 1, 0);
    form->addWidget(label, 1, 1);
    form->addWidget(new QLabel(tr("Score / prediction column:")), 1, 2);
    form->addWidget(prediction, 1, 3);
    form->addWidget(new QLabel(tr("Model:")), 2, 0);
    form->addWidget(model, 2, 1, 1, 3);
    form->addWidget(evaluate, 0, 4);
    form->addWidget(loadReports, 1, 4);
    m_evalProgress = new QProgressBar(inputs);
    m_evalProgress->setObjectName("evalProgress");
    m_evalProgress->setRange(0, 1000);
    m_evalProgress->setTextVisible(true);
    m_evalProgress->setVisible(false);
    m_cancelEvaluation = new QPushButton(tr("Cancel"), inputs);
    m_cancelEvaluation->setObjectName("cancelEvaluation");
    m_cancelEvaluation->setToolTip(tr("Stop the running evaluation"));
    m_cancelEvaluation->setEnabled(false);
    form->addWidget(m_cancelEvaluation, 2, 4);
    form->addWidget(m_evalProgress, 4, 0, 1, 5);
    connect(m_cancelEvaluation, &QPushButton::clicked, this, [this]() {
        if (m_evalTask != 0)
            m_tasks->cancel(m_evalTask);
        m_cancelEvaluation->setEnabled(false);
        m_storeStatus->setText(tr("Cancelling…"));
    });
    // Progress of the page's own evaluation: rows read, rate and ETA.
    connect(m_tasks, &TaskRunner::taskProgress, this,
            [this](int id, double fraction, const QString &message) {
                if (id != m_evalTask || m_evalTask == 0)
                    return;
                m_evalProgress->setValue(static_cast<int>(fraction * 1000));
                m_evalProgress->setFormat(message.isEmpty() ? QStringLiteral("%p%")
                                                            : QStringLiteral("%p% — ") + message);
            });
    m_storeStatus = new QLabel(inputs);
    m_storeStatus->setObjectName("storeStatus");
    m_storeStatus->setWordWrap(true);
    m_storeStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addWidget(m_storeStatus, 3, 0, 1, 5);
    form->setColumnStretch(1, 1);
    form->setColumnStretch(3, 1);
    outer->addWidget(inputs);

    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto *content = new QWidget(scroll);
    content->setObjectName("evalContent");
    auto *grid = new QGridLayout(content);
    scroll->setWidget(content);
    outer->addWidget(scroll, 1);

    m_headline = new QLabel(tr("Pick a dataset and press Evaluate, or load report JSON files "
                               "written by `shardbench-cli eval/drift/quality --out`."),
                            content);
    m_headline->setWordWrap(true);
    grid->addWidget(m_headline, 0, 0, 1, 2);

    auto box = [content](const QString &title, QWidget *child, QWidget *extra = nullptr) {
        auto *group = new QGroupBox(title, content);
        auto *layout = new QVBoxLayout(group);
        layout->addWidget(child, 1);
        if (extra)
            layout->addWidget(extra);
        return group;
    };

    m_overall = new QStandardItemModel(0, 4, this);
    m_overall->setHorizontalHeaderLabels({tr("Metric"), tr("Value"), tr("CI low"), tr("CI high")});
    grid->addWidget(box(tr("Overall metrics"), makeTable(m_overall, content)), 1, 0);
    m_perClass = new QStandardItemModel(0, 5, this);
    m_perClass->setHorizontalHeaderLabels(
        {tr("Class"), tr("Precision"), tr("Recall"), tr("F1"), tr("Support")});
    grid->addWidget(box(tr("Per class"), makeTable(m_perClass, content)), 1, 1);

    m_heatmap = new ConfusionHeatmap(content);
    installExportMenu(m_heatmap, "confusion_matrix");
    grid->addWidget(box(tr("Confusion matrix"), m_heatmap), 2, 0);
    m_rows = new QStandardItemModel(this);
    m_rowsLabel = new QLabel(tr("Click a cell of the confusion matrix to list its rows."), content);
    m_rowsLabel->setWordWrap(true);
    grid->addWidget(box(tr("Rows of the selected cell"), makeTable(m_rows, content), m_rowsLabel),
                    2, 1);

    m_sliceChart = new BarChartWidget(tr("Metric per slice (95% CI)"), content);
    installExportMenu(m_sliceChart, "slices");
    grid->addWidget(box(tr("Slices"), m_sliceChart), 3, 0);
    m_weakSlices = new QStandardItemModel(this);
    grid->addWidget(box(tr("Weak slices"), makeTable(m_weakSlices, content)), 3, 1);

    m_reliability = new QChartView(new QChart, content);
    m_reliability->setRenderHint(QPainter::Antialiasing);
    m_reliability->setMinimumHeight(320);
    installExportMenu(m_reliability, "reliability");
    grid->addWidget(box(tr("Calibration"), m_reliability), 4, 0);
    m_driftTime = new QChartView(new QChart, content);
    m_driftTime->setRenderHint(QPainter::Antialiasing);
    m_driftTime->setMinimumHeight(320);
    installExportMenu(m_driftTime, "drift_over_time");
    grid->addWidget(box(tr("Drift over time (click a window)"), m_driftTime), 4, 1);

    // Full width: one bar per feature needs the room for its name.
    m_driftChart = new BarChartWidget(tr("Drift per feature (red: drifted)"), content);
    m_driftChart->setMinimumHeight(300);
    installExportMenu(m_driftChart, "drift_features");
    grid->addWidget(box(tr("Drift per feature"), m_driftChart), 5, 0, 1, 2);
    m_windowColumns = new QStandardItemModel(this);
    m_windowLabel =
        new QLabel(tr("Click a window in 'Drift over time' to see its columns."), content);
    grid->addWidget(
        box(tr("Window drill-down"), makeTable(m_windowColumns, content), m_windowLabel), 6, 0, 1,
        2);

    m_qualityTable = new QStandardItemModel(this);
    grid->addWidget(box(tr("Data quality and PII"), makeTable(m_qualityTable, content)), 7, 0, 1,
                    2);
    m_risk = new RiskPanel(m_tasks, content);
    m_risk->setObjectName("riskPanel");
    grid->addWidget(m_risk, 8, 0, 1, 2);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);
    connect(m_risk, &RiskPanel::errorOccurred, this, &EvalPage::errorOccurred);
    connect(m_risk, &RiskPanel::runRequested, this, [this, current, label, model]() {
        RiskRequest request;
        request.modelPath = model->text().trimmed();
        request.dataPath = current->text().trimmed();
        request.labelColumn = label->currentText();
        request.database = guiDatabasePath();
        m_risk->run(request);
    });

    connect(m_heatmap, &ConfusionHeatmap::cellClicked, this, &EvalPage::listConfusionRows);
    connect(loadReports, &QPushButton::clicked, this, [this]() {
        const QStringList files =
            QFileDialog::getOpenFileNames(this, tr("Load report JSON (eval, drift and/or quality)"),
                                          QString(), tr("JSON (*.json)"));
        json eval = m_eval, drift = m_drift, quality = m_quality;
        for (const QString &file : files) {
            const json report = readJsonFile(file);
            if (!report.is_object()) {
                emit errorOccurred(tr("%1 is not a JSON report").arg(file));
                continue;
            }
            if (report.contains("overall"))
                eval = report;
            else if (report.contains("dataset_drift") || report.contains("share_drifted"))
                drift = report;
            else if (report.contains("duplicate_rows") || report.contains("leakage"))
                quality = report;
        }
        showReports(eval, drift, quality);
    });
    auto fillColumns = [label, prediction](const QString &path) {
        const QStringList header = readCsvHeader(path);
        if (header.isEmpty())
            return;
        const QString l = label->currentText(), p = prediction->currentText();
        label->clear();
        prediction->clear();
        label->addItems(header);
        prediction->addItems(header);
        label->setCurrentText(
            header.contains(l) ? l : (header.contains("label") ? "label" : header.first()));
        for (const QString &guess : {p, QStringLiteral("score"), QStringLiteral("prediction")})
            if (header.contains(guess)) {
                prediction->setCurrentText(guess);
                break;
            }
    };
    // The demo classifier filled in for the demo data must not claim other
    // data: choosing another current file clears it (the user names the model).
    const QString demoDir = QString::fromStdString(demoClassifierPath().parent_path().string());
    connect(current, &QLineEdit::editingFinished, this, [current, model, demoDir, fillColumns]() {
        fillColumns(current->text());
        if (model->text() == demoDir + "/classifier.onnx" &&
            QFileInfo(current->text()) != QFileInfo(demoDir + "/current.csv"))
            model->clear();
    });
    connect(evaluate, &QPushButton::clicked, this,
            [this, reference, current, label, prediction, model]() {
                EvalRequest request;
                request.referencePath = reference->text();
                request.currentPath = current->text();
                request.labelColumn = label->currentText();
                request.scoreColumn = prediction->currentText();
                request.modelPath = model->text().trimmed();
                // Drift over time needs a datetime column; the demo data has "timestamp".
                for (const QString &name : readCsvHeader(request.currentPath))
                    if (name == "timestamp" || name == "date" || name == "time") {
                        request.windowColumn = name;
                        request.window = "7d";
                        break;
                    }
                m_storeStatus->setText(tr("Evaluating…"));
                m_evalProgress->setValue(0);
                m_evalProgress->setFormat(QStringLiteral("%p%"));
                m_evalProgress->setVisible(true);
                m_cancelEvaluation->setEnabled(true);
                const auto database = guiDatabasePath();
                m_evalTask = m_tasks->start<EvalOutcome>(
                    tr("Evaluating"),
                    [request, database](const ProgressFn &progress,
                                        const CancelToken &cancel) -> Result<EvalOutcome> {
                        EvalOutcome outcome;
                        SB_ASSIGN_OR_RETURN(outcome.reports,
                                            runEvaluation(request, progress, cancel));
                        if (request.modelPath.isEmpty())
                            return outcome;
                        // Storing is a second step: its failure keeps the reports.
                        if (progress)
                            progress(0.95, "Storing the results");
                        auto opened = store::Store::open(database);
                        Result<StoredEvaluation> stored =
                            opened.ok() ? storeEvaluation(**opened, request, outcome.reports)
                                        : Result<StoredEvaluation>(
                                              opened.error().withContext(database.string()));
                        if (stored.ok())
                            outcome.stored = std::move(stored).value();
                        else
                            outcome.storeError =
                                userMessage(tr("Storing the evaluation"), stored.error());
                        return outcome;
                    },
                    this,
                    [this, request](Result<EvalOutcome> result) {
                        m_evalTask = 0;
                        m_cancelEvaluation->setEnabled(false);
                        m_evalProgress->setVisible(false);
                        if (!result.ok() && result.error().code == ErrorCode::Cancelled) {
                            m_storeStatus->setText(tr("Evaluation cancelled."));
                            emit evaluationCancelled();
                            return;
                        }
                        if (!result.ok()) {
                            m_storeStatus->clear();
                            emit errorOccurred(userMessage(tr("Evaluation"), result.error()));
                            return;
                        }
                        const EvalReports &reports = result->reports;
                        setDatasetRows(reports.header, reports.rows, request.labelColumn,
                                       reports.predictionColumn);
                        showReports(reports.eval, reports.drift, reports.quality);
                        if (result->stored) {
                            const StoredEvaluation &stored = *result->stored;
                            const QString version = QString::fromStdString(stored.version.label());
                            m_storeStatus->setText(
                                tr("Stored for <b>%1</b>%2: evaluation #%3, quality #%4%5%6.")
                                    .arg(version.toHtmlEscaped(),
                                         stored.registered ? tr(" (registered now)") : QString())
                                    .arg(stored.evaluationId)
                                    .arg(stored.qualityId)
                                    .arg(stored.driftId ? tr(", drift #%1").arg(stored.driftId)
                                                        : QString())
                                    .arg(stored.checklistStarted.empty()
                                             ? QString()
                                             : tr("; checklist '%1' started")
                                                   .arg(QString::fromStdString(
                                                       stored.checklistStarted))));
                            emit resultsStored(version);
                        } else if (!result->storeError.isEmpty()) {
                            m_storeStatus->setText(result->storeError.toHtmlEscaped());
                            emit errorOccurred(result->storeError);
                        } else {
                            m_storeStatus->setText(
                                tr("Not stored: choose the model the scores come from."));
                        }
                    });
            });

    // A first start shows the bundled demo data, ready to evaluate.
    if (QFileInfo::exists(demoDir + "/current.csv")) {
        reference->setText(demoDir + "/reference.csv");
        current->setText(demoDir + "/current.csv");
        model->setText(demoDir + "/classifier.onnx");
        fillColumns(current->text());
        // The demo classifier's inputs: the 30 columns between patient_age
        // and label; its training split is train.csv.
        const QStringList header = readCsvHeader(current->text());
        const qsizetype from = header.indexOf("patient_age"), to = header.indexOf("label");
        if (from >= 0 && to > from)
            m_risk->setFeatures(header.mid(from + 1, to - from - 1));
        if (QFileInfo::exists(demoDir + "/train.csv"))
            m_risk->setTrainingPath(demoDir + "/train.csv");
    }
}

QString EvalPage::storeStatus() const
{
    return m_storeStatus->text();
}

QList<QWidget *> EvalPage::charts() const
{
    return QList<QWidget *>{m_heatmap, m_sliceChart, m_reliability, m_driftChart, m_driftTime} +
           m_risk->charts();
}

void EvalPage::setDatasetRows(const QStringList &header, const QVector<QStringList> &rows,
                              const QString &labelColumn, const QString &predictionColumn)
{
    m_header = header;
    m_dataRows = rows;
    m_labelColumn = int(header.indexOf(labelColumn));
    m_predictionColumn = int(header.indexOf(predictionColumn));
}

void EvalPage::showReports(const json &eval, const json &drift, const json &quality)
{
    m_eval = eval;
    m_drift = drift;
    m_quality = quality;

    // Headline.
    QStringList headline;
    if (eval.is_object())
        headline << tr("<b>%1</b> rows, task <b>%2</b>")
                        .arg(text(eval.value("rows", json())), text(eval.value("task", json())));
    if (drift.is_object())
        headline << tr("drift: %1 of columns drifted%2")
                        .arg(QString::number(number(drift.value("share_drifted", json()), 0) * 100,
                                             'f', 0) +
                             "%")
                        .arg(drift.value("dataset_drift", false) ? tr(" — <b>dataset drift</b>")
                                                                 : QString());
    if (eval.is_object() && eval.contains("gates"))
        for (const auto &gate : eval["gates"])
            headline << tr("gate %1: %2")
                            .arg(text(gate.value("expr", json())),
                                 gate.value("passed", false) ? tr("passed") : tr("FAILED"));
    if (!headline.isEmpty())
        m_headline->setText(headline.join(" · "));

    // Overall with CIs.
    m_overall->removeRows(0, m_overall->rowCount());
    if (eval.is_object() && eval.contains("overall") && eval["overall"].is_object()) {
        json cis = eval.value("overall_ci", eval.value("ci", json::object()));
        for (const auto &[name, value] : eval["overall"].items()) {
            const auto [low, high] = cis.is_object() && cis.contains(name)
                                         ? interval(cis[name])
                                         : std::pair{qQNaN(), qQNaN()};
            m_overall->appendRow({cell(QString::fromStdString(name)),
                                  cell(formatMetric(number(value))), cell(formatMetric(low)),
                                  cell(formatMetric(high))});
        }
    }
    m_perClass->removeRows(0, m_perClass->rowCount());
    if (eval.is_object() && eval.contains("per_class"))
        for (const auto &row : eval["per_class"])
            m_perClass->appendRow({cell(text(row.value("label", json()))),
                                   cell(formatMetric(number(row.value("precision", json())))),
                                   cell(formatMetric(number(row.value("recall", json())))),
                                   cell(formatMetric(number(row.value("f1", json())))),
                                   cell(text(row.value("support", json())))});

    // Confusion matrix.
    QStringList labels;
    QVector<QVector<double>> counts;
    if (eval.is_object() && eval.contains("confusion_matrix")) {
        const json &cm = eval["confusion_matrix"];
        for (const auto &l : cm.value("labels", json::array()))
            labels << text(l);
        for (const auto &row : cm.value("matrix", json::array())) {
            QVector<double> r;
            for (const auto &c : row)
                r << number(c, 0);
            counts << r;
        }
    }
    m_heatmap->setMatrix(labels, counts);

    // Slices: the primary metric with its CI.
    QVector<BarDatum> slices;
    if (eval.is_object() && eval.contains("slices")) {
        for (const auto &slice : eval["slices"]) {
            const json metrics = slice.value("metrics", json::object());
            std::string metric = metrics.contains("accuracy") ? "accuracy"
                                 : metrics.empty()            ? ""
                                                              : metrics.begin().key();
            if (metric.empty())
                continue;
            BarDatum bar;
            bar.label = text(slice.value("name", json()));
            bar.value = number(metrics[metric], 0);
            const json ci = slice.value("ci", json::object());
            if (ci.is_object() && ci.contains(metric))
                std::tie(bar.low, bar.high) = interval(ci[metric]);
            else if (ci.is_array())
                std::tie(bar.low, bar.high) = interval(ci);
            bar.tooltip = text(slice.value("expr", json()));
            slices << bar;
        }
    }
    m_sliceChart->setData(slices, tr("accuracy"), qQNaN(), 1.0);

    // Weak slices: every key of the entries.
    m_weakSlices->clear();
    if (eval.is_object() && eval.contains("auto_slices") && !eval["auto_slices"].empty()) {
        // The slice first, then its figures; other keys keep their order.
        QStringList keys;
        for (const char *key : {"expr", "rows", "metric", "value", "metric_value", "ci", "effect"})
            if (eval["auto_slices"].front().contains(key))
                keys << QString::fromLatin1(key);
        for (const auto &[key, value] : eval["auto_slices"].front().items())
            if (!keys.contains(QString::fromStdString(key)))
                keys << QString::fromStdString(key);
        m_weakSlices->setHorizontalHeaderLabels(keys);
        for (const auto &slice : eval["auto_slices"]) {
            QList<QStandardItem *> row;
            const std::string metric = slice.value("metric", std::string());
            for (const QString &key : keys) {
                json value = slice.value(key.toStdString(), json());
                // A CI per metric: show the one of this slice's metric.
                if (value.is_object() && !metric.empty() && value.contains(metric))
                    value = value[metric];
                if (value.is_array() && value.size() == 2 && value[0].is_number() &&
                    value[1].is_number()) {
                    row << cell(
                        QStringLiteral("[%1, %2]")
                            .arg(formatMetric(number(value[0])), formatMetric(number(value[1]))));
                    continue;
                }
                row << cell(value.is_number_float() ? formatMetric(number(value)) : text(value));
            }
            m_weakSlices->appendRow(row);
        }
    }

    buildReliability();

    // Drift per feature.
    QVector<BarDatum> driftBars;
    if (drift.is_object() && drift.contains("columns"))
        for (const auto &column : drift["columns"]) {
            BarDatum bar;
            bar.label = text(column.value("name", json()));
            bar.value = number(column.value("statistic", json()), 0);
            bar.flagged = column.value("drifted", false);
            bar.tooltip = tr("%1: statistic %2, p %3")
                              .arg(text(column.value("method", json())),
                                   text(column.value("statistic", json())),
                                   text(column.value("p_value", json())));
            driftBars << bar;
        }
    m_driftChart->setData(driftBars, tr("drift statistic"));
    buildDriftOverTime();
    m_windowColumns->clear();

    // Quality + PII.
    m_qualityTable->clear();
    if (quality.is_object() && quality.contains("columns")) {
        const QStringList keys = {"name",     "type", "missing", "missing_share", "unique",
                                  "constant", "min",  "max",     "mean",          "pii"};
        m_qualityTable->setHorizontalHeaderLabels(keys);
        for (const auto &column : quality["columns"]) {
            QList<QStandardItem *> row;
            for (const QString &key : keys) {
                const json value = column.value(key.toStdString(), json());
                QStandardItem *item = cell(text(value));
                if (key == "pii" && !value.is_null() && !value.empty())
                    item->setForeground(QColor(0xc6, 0x28, 0x28));
                row << item;
            }
            m_qualityTable->appendRow(row);
        }
    }
    // Columns wide enough for their values (long JSON cells stay elided).
    for (QTableView *view : findChildren<QTableView *>()) {
        view->resizeColumnsToContents();
        for (int c = 0; c < view->model()->columnCount(); ++c)
            view->setColumnWidth(c, std::min(view->columnWidth(c), 240));
    }
    emit reportsShown();
}

void EvalPage::buildReliability()
{
    QChart *chart = m_reliability->chart();
    chart->removeAllSeries();
    for (QAbstractAxis *axis : chart->axes())
        chart->removeAxis(axis);
    if (!m_eval.is_object() || !m_eval.contains("calibration")) {
        chart->setTitle(tr("Reliability diagram (no calibration data)"));
        return;
    }
    const json &calibration = m_eval["calibration"];
    chart->setTitle(
        tr("Reliability diagram<br>ECE %1 before, %2 after temperature scaling (T = %3)")
            .arg(formatMetric(number(calibration.value("ece", json()))),
                 formatMetric(number(calibration.value("ece_after_temperature", json()))),
                 QString::number(number(calibration.value("temperature", json())), 'f', 2)));
    auto *ideal = new QLineSeries;
    ideal->setName(tr("ideal"));
    ideal->append(0, 0);
    ideal->append(1, 1);
    QPen dashed(Qt::gray, 1.5, Qt::DashLine);
    ideal->setPen(dashed);
    chart->addSeries(ideal);
    // One line with its bins per curve: the model as is, then temperature-scaled.
    auto addCurve = [chart](const json &bins, const QString &name, const QColor &colour) {
        auto *line = new QLineSeries;
        line->setName(name);
        line->setPen(QPen(colour, 2));
        auto *points = new QScatterSeries;
        points->setMarkerSize(8);
        points->setColor(colour);
        points->setBorderColor(colour);
        for (const auto &bin : bins) {
            const double confidence = number(bin.value("confidence", json()));
            const double accuracy = number(bin.value("accuracy", json()));
            if (std::isnan(confidence) || std::isnan(accuracy))
                continue;
            line->append(confidence, accuracy);
            points->append(confidence, accuracy);
        }
        chart->addSeries(line);
        chart->addSeries(points);
        chart->legend()->markers(points).front()->setVisible(false);
    };
    addCurve(calibration.value("bins", json::array()), tr("before"), QColor(0x4e, 0x79, 0xa7));
    if (calibration.contains("bins_after_temperature"))
        addCurve(calibration["bins_after_temperature"], tr("after temperature scaling"),
                 QColor(0xf2, 0x8e, 0x2b));
    auto *x = new QValueAxis;
    x->setRange(0, 1);
    x->setTitleText(tr("confidence"));
    auto *y = new QValueAxis;
    // A little headroom: bins at accuracy 1 stay visible above the frame.
    y->setRange(0, 1.04);
    y->setTickType(QValueAxis::TicksDynamic);
    y->setTickAnchor(0);
    y->setTickInterval(0.25);
    y->setTitleText(tr("accuracy"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (QAbstractSeries *series : chart->series()) {
        series->attachAxis(x);
        series->attachAxis(y);
    }
}

void EvalPage::buildDriftOverTime()
{
    QChart *chart = m_driftTime->chart();
    chart->removeAllSeries();
    for (QAbstractAxis *axis : chart->axes())
        chart->removeAxis(axis);
    const json windows =
        m_drift.is_object() ? m_drift.value("windows", json::array()) : json::array();
    chart->setTitle(windows.empty() ? tr("Drift over time (no windows in the drift report)")
                                    : tr("Share of drifted columns per window"));
    if (windows.empty())
        return;
    auto *series = new QLineSeries;
    series->setName(tr("share drifted"));
    series->setPointsVisible(true);
    auto *points = new QScatterSeries;
    points->setName(tr("windows"));
    points->setMarkerSize(10);
    int i = 0;
    for (const auto &window : windows) {
        const double share = number(window.value("share_drifted", json()), 0);
        series->append(i, share);
        points->append(i, share);
        ++i;
    }
    auto *threshold = new QLineSeries;
    threshold->setName(tr("dataset drift (0.5)"));
    threshold->append(0, 0.5);
    threshold->append(std::max(1, i - 1), 0.5);
    threshold->setPen(QPen(QColor(0xe1, 0x57, 0x59), 1.5, Qt::DashLine));
    chart->addSeries(series);
    chart->addSeries(points);
    chart->addSeries(threshold);
    chart->legend()->markers(points).front()->setVisible(false);
    auto *x = new QValueAxis;
    x->setRange(-0.2, std::max(1, i - 1) + 0.2);
    x->setTitleText(tr("window"));
    x->setLabelFormat("%d");
    auto *y = new QValueAxis;
    y->setRange(0, 1.04);
    y->setTickType(QValueAxis::TicksDynamic);
    y->setTickAnchor(0);
    y->setTickInterval(0.25);
    y->setTitleText(tr("share drifted"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (QAbstractSeries *s : chart->series()) {
        s->attachAxis(x);
        s->attachAxis(y);
    }
    auto pick = [this](const QPointF &point) { drillIntoWindow(int(std::lround(point.x()))); };
    connect(points, &QScatterSeries::clicked, this, pick);
    connect(series, &QLineSeries::clicked, this, pick);
}

void EvalPage::drillIntoWindow(int window)
{
    m_windowColumns->clear();
    const json windows =
        m_drift.is_object() ? m_drift.value("windows", json::array()) : json::array();
    if (window < 0 || window >= int(windows.size()))
        return;
    const json &w = windows[std::size_t(window)];
    m_windowLabel->setText(tr("Window %1: %2 → %3, %4 rows, %5% drifted")
                               .arg(window)
                               .arg(text(w.value("start", json())), text(w.value("end", json())),
                                    text(w.value("rows", json())))
                               .arg(number(w.value("share_drifted", json()), 0) * 100, 0, 'f', 0));
    const json columns = w.value("columns", json::array());
    const QStringList keys = {"name", "method", "statistic", "p_value", "threshold", "drifted"};
    m_windowColumns->setHorizontalHeaderLabels(keys);
    for (const auto &column : columns) {
        QList<QStandardItem *> row;
        for (const QString &key : keys)
            row << cell(text(column.value(key.toStdString(), json())));
        if (column.value("drifted", false))
            for (QStandardItem *item : row)
                item->setForeground(QColor(0xc6, 0x28, 0x28));
        m_windowColumns->appendRow(row);
    }
}

void EvalPage::listConfusionRows(int actualIndex, int predictedIndex)
{
    const QStringList &labels = m_heatmap->labels();
    if (actualIndex < 0 || predictedIndex < 0 || actualIndex >= labels.size() ||
        predictedIndex >= labels.size())
        return;
    m_rows->clear();
    m_rows->setHorizontalHeaderLabels(QStringList{tr("row")} + m_header);
    if (m_labelColumn < 0 || m_predictionColumn < 0) {
        m_rowsLabel->setText(tr("The dataset's rows are not loaded (reports loaded from files)."));
        return;
    }
    int shown = 0, matched = 0;
    for (int r = 0; r < m_dataRows.size(); ++r) {
        const QStringList &row = m_dataRows[r];
        if (row.size() <= std::max(m_labelColumn, m_predictionColumn))
            continue;
        if (!sameLabel(row[m_labelColumn], labels[actualIndex]) ||
            !sameLabel(row[m_predictionColumn], labels[predictedIndex]))
            continue;
        ++matched;
        if (shown < 500) {
            QList<QStandardItem *> items{cell(QString::number(r + 1))};
            for (const QString &value : row)
                items << cell(value);
            m_rows->appendRow(items);
            ++shown;
        }
    }
    m_rowsLabel->setText(tr("Actual %1, predicted %2: %n row(s)", nullptr, matched)
                             .arg(labels[actualIndex], labels[predictedIndex]));
}

} // namespace sb::ui
