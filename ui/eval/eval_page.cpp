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

QTableView *makeTable(QAbstractItemModel *model, QWidget *parent)
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

json readJsonFile(const QString &path)
{
    std::ifstream in(path.toStdString());
    if (!in)
        return json();
    return json::parse(in, nullptr, false);
}

} // namespace

// What one press of Evaluate produces: the reports, and where they were stored.
struct EvalPage::EvalOutcome
{
    EvalReports reports;
    std::optional<StoredEvaluation> stored;
    QString storeError;
};

EvalPage::EvalPage(TaskRunner *tasks, QWidget *parent) : QWidget(parent), m_tasks(tasks)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(buildInputs());

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

    m_overall = new MetricsTableModel(this);
    grid->addWidget(box(tr("Overall metrics"), makeTable(m_overall, content)), 1, 0);
    m_perClass = new PerClassModel(this);
    grid->addWidget(box(tr("Per class"), makeTable(m_perClass, content)), 1, 1);

    m_heatmap = new ConfusionHeatmap(content);
    installExportMenu(m_heatmap, "confusion_matrix");
    grid->addWidget(box(tr("Confusion matrix"), m_heatmap), 2, 0);
    m_rows = new ConfusionRowsModel(this);
    m_rowsLabel = new QLabel(tr("Click a cell of the confusion matrix to list its rows."), content);
    m_rowsLabel->setWordWrap(true);
    grid->addWidget(box(tr("Rows of the selected cell"), makeTable(m_rows, content), m_rowsLabel),
                    2, 1);

    m_sliceChart = new BarChartWidget(tr("Metric per slice (95% CI)"), content);
    installExportMenu(m_sliceChart, "slices");
    m_slices = new SliceTableModel(this);
    grid->addWidget(box(tr("Slices"), m_sliceChart, makeTable(m_slices, content)), 3, 0);
    m_weakSlices = new KeyedTextModel(this);
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
    m_windowColumns = new DriftColumnsModel(this);
    m_windowLabel =
        new QLabel(tr("Click a window in 'Drift over time' to see its columns."), content);
    grid->addWidget(
        box(tr("Window drill-down"), makeTable(m_windowColumns, content), m_windowLabel), 6, 0, 1,
        2);

    m_qualityTable = new QualityTableModel(this);
    grid->addWidget(box(tr("Data quality and PII"), makeTable(m_qualityTable, content)), 7, 0, 1,
                    2);
    m_risk = new RiskPanel(m_tasks, content);
    m_risk->setObjectName("riskPanel");
    grid->addWidget(m_risk, 8, 0, 1, 2);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);
    connect(m_risk, &RiskPanel::errorOccurred, this, &EvalPage::errorOccurred);
    connect(m_risk, &RiskPanel::runRequested, this, [this]() {
        RiskRequest request;
        request.modelPath = m_model->text().trimmed();
        request.dataPath = m_current->text().trimmed();
        request.labelColumn = m_labelBox->currentText();
        request.database = guiDatabasePath();
        m_risk->run(request);
    });
    connect(m_heatmap, &ConfusionHeatmap::cellClicked, this, &EvalPage::listConfusionRows);

    // A first start shows the bundled demo data, ready to evaluate.
    const QString demoDir = QString::fromStdString(demoClassifierPath().parent_path().string());
    if (QFileInfo::exists(demoDir + "/current.csv")) {
        m_reference->setText(demoDir + "/reference.csv");
        m_current->setText(demoDir + "/current.csv");
        m_model->setText(demoDir + "/classifier.onnx");
        fillColumns();
        // The demo classifier's inputs: the 30 columns between patient_age
        // and label; its training split is train.csv.
        const QStringList header = readCsvHeader(m_current->text());
        const qsizetype from = header.indexOf("patient_age"), to = header.indexOf("label");
        if (from >= 0 && to > from)
            m_risk->setFeatures(header.mid(from + 1, to - from - 1));
        if (QFileInfo::exists(demoDir + "/train.csv"))
            m_risk->setTrainingPath(demoDir + "/train.csv");
    }
}

QWidget *EvalPage::buildInputs()
{
    auto *inputs = new QGroupBox(tr("Data"), this);
    auto *form = new QGridLayout(inputs);
    m_reference = new QLineEdit(inputs);
    m_reference->setObjectName("referencePath");
    m_reference->setPlaceholderText(tr("reference.csv (drift baseline)"));
    m_current = new QLineEdit(inputs);
    m_current->setObjectName("currentPath");
    m_current->setPlaceholderText(tr("current.csv (evaluated)"));
    m_labelBox = new QComboBox(inputs);
    m_labelBox->setObjectName("labelColumn");
    m_labelBox->setEditable(true);
    m_predictionBox = new QComboBox(inputs);
    m_predictionBox->setObjectName("predictionColumn");
    m_predictionBox->setEditable(true);
    m_model = new QLineEdit(inputs);
    m_model->setObjectName("modelPath");
    m_model->setPlaceholderText(tr("model.onnx the scores come from (results are stored for its "
                                   "registered version)"));
    auto *evaluate = new QPushButton(tr("Evaluate"), inputs);
    evaluate->setObjectName("evaluateButton");
    auto *loadReports = new QPushButton(tr("Load Report JSON…"), inputs);
    form->addWidget(new QLabel(tr("Reference:")), 0, 0);
    form->addWidget(m_reference, 0, 1);
    form->addWidget(new QLabel(tr("Current:")), 0, 2);
    form->addWidget(m_current, 0, 3);
    form->addWidget(new QLabel(tr("Label column:")), 1, 0);
    form->addWidget(m_labelBox, 1, 1);
    form->addWidget(new QLabel(tr("Score / prediction column:")), 1, 2);
    form->addWidget(m_predictionBox, 1, 3);
    form->addWidget(new QLabel(tr("Model:")), 2, 0);
    form->addWidget(m_model, 2, 1, 1, 3);
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
    m_storeStatus = new QLabel(inputs);
    m_storeStatus->setObjectName("storeStatus");
    m_storeStatus->setWordWrap(true);
    m_storeStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addWidget(m_storeStatus, 3, 0, 1, 5);
    form->setColumnStretch(1, 1);
    form->setColumnStretch(3, 1);

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
    connect(loadReports, &QPushButton::clicked, this, [this]() {
        loadReportFiles(
            QFileDialog::getOpenFileNames(this, tr("Load report JSON (eval, drift and/or quality)"),
                                          QString(), tr("JSON (*.json)")));
    });
    // The demo classifier filled in for the demo data must not claim other
    // data: choosing another current file clears it (the user names the model).
    const QString demoDir = QString::fromStdString(demoClassifierPath().parent_path().string());
    connect(m_current, &QLineEdit::editingFinished, this, [this, demoDir]() {
        fillColumns();
        if (m_model->text() == demoDir + "/classifier.onnx" &&
            QFileInfo(m_current->text()) != QFileInfo(demoDir + "/current.csv"))
            m_model->clear();
    });
    connect(evaluate, &QPushButton::clicked, this, [this]() {
        EvalRequest request;
        request.referencePath = m_reference->text();
        request.currentPath = m_current->text();
        request.labelColumn = m_labelBox->currentText();
        request.scoreColumn = m_predictionBox->currentText();
        request.modelPath = m_model->text().trimmed();
        // Drift over time needs a datetime column; the demo data has "timestamp".
        for (const QString &name : readCsvHeader(request.currentPath))
            if (name == "timestamp" || name == "date" || name == "time") {
                request.windowColumn = name;
                request.window = "7d";
                break;
            }
        startEvaluation(request);
    });
    return inputs;
}

// The label and prediction choices from the current file's header.
void EvalPage::fillColumns()
{
    const QStringList header = readCsvHeader(m_current->text());
    if (header.isEmpty())
        return;
    const QString l = m_labelBox->currentText(), p = m_predictionBox->currentText();
    m_labelBox->clear();
    m_predictionBox->clear();
    m_labelBox->addItems(header);
    m_predictionBox->addItems(header);
    m_labelBox->setCurrentText(
        header.contains(l) ? l : (header.contains("label") ? "label" : header.first()));
    for (const QString &guess : {p, QStringLiteral("score"), QStringLiteral("prediction")})
        if (header.contains(guess)) {
            m_predictionBox->setCurrentText(guess);
            break;
        }
}

void EvalPage::loadReportFiles(const QStringList &files)
{
    json eval = m_eval, drift = m_drift, quality = m_quality;
    for (const QString &file : files) {
        const json report = readJsonFile(file);
        switch (reportKind(report)) {
        case ReportKind::Evaluation:
            eval = report;
            break;
        case ReportKind::Drift:
            drift = report;
            break;
        case ReportKind::Quality:
            quality = report;
            break;
        case ReportKind::Unknown:
            if (!report.is_object())
                emit errorOccurred(tr("%1 is not a JSON report").arg(file));
            break;
        }
    }
    showReports(eval, drift, quality);
}

void EvalPage::startEvaluation(const EvalRequest &request)
{
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
            SB_ASSIGN_OR_RETURN(outcome.reports, runEvaluation(request, progress, cancel));
            if (request.modelPath.isEmpty())
                return outcome;
            // Storing is a second step: its failure keeps the reports.
            if (progress)
                progress(0.95, "Storing the results");
            auto opened = store::Store::open(database);
            Result<StoredEvaluation> stored =
                opened.ok()
                    ? storeEvaluation(**opened, request, outcome.reports)
                    : Result<StoredEvaluation>(opened.error().withContext(database.string()));
            if (stored.ok())
                outcome.stored = std::move(stored).value();
            else
                outcome.storeError = userMessage(tr("Storing the evaluation"), stored.error());
            return outcome;
        },
        this, [this, request](Result<EvalOutcome> result) { finishEvaluation(request, result); });
}

void EvalPage::finishEvaluation(const EvalRequest &request, const Result<EvalOutcome> &result)
{
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
    setDatasetRows(reports.header, reports.rows, request.labelColumn, reports.predictionColumn);
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
                .arg(stored.driftId ? tr(", drift #%1").arg(stored.driftId) : QString())
                .arg(stored.checklistStarted.empty()
                         ? QString()
                         : tr("; checklist '%1' started")
                               .arg(QString::fromStdString(stored.checklistStarted))));
        emit resultsStored(version);
    } else if (!result->storeError.isEmpty()) {
        m_storeStatus->setText(result->storeError.toHtmlEscaped());
        emit errorOccurred(result->storeError);
    } else {
        m_storeStatus->setText(tr("Not stored: choose the model the scores come from."));
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
    m_rows->setDataset(header, rows, int(header.indexOf(labelColumn)),
                       int(header.indexOf(predictionColumn)));
}

void EvalPage::showReports(const json &eval, const json &drift, const json &quality)
{
    m_eval = eval;
    m_drift = drift;
    m_quality = quality;

    m_results = parseEvalReport(eval);

    // Headline.
    QStringList headline;
    if (eval.is_object())
        headline << tr("<b>%1</b> rows, task <b>%2</b>")
                        .arg(reportText(eval.value("rows", json())), m_results.task);
    if (drift.is_object())
        headline << tr("drift: %1 of columns drifted%2")
                        .arg(QString::number(number(drift.value("share_drifted", json()), 0) * 100,
                                             'f', 0) +
                             "%")
                        .arg(drift.value("dataset_drift", false) ? tr(" — <b>dataset drift</b>")
                                                                 : QString());
    for (const GateRow &gate : m_results.gates)
        headline << tr("gate %1: %2").arg(gate.expr, gate.passed ? tr("passed") : tr("FAILED"));
    if (!headline.isEmpty())
        m_headline->setText(headline.join(" · "));

    m_overall->setRows(m_results.overall);
    m_perClass->setRows(m_results.perClass);
    m_heatmap->setMatrix(m_results.confusionLabels, m_results.confusion);
    m_slices->setSlices(m_results.sliceMetric, m_results.slices);
    m_sliceChart->setData(sliceBars(m_results), m_results.sliceMetric, qQNaN(),
                          m_results.task == "classification" ? 1.0 : qQNaN());
    m_weakSlices->setTable(m_results.weakSliceKeys, m_results.weakSlices);

    buildReliability();

    // Drift per feature.
    const QVector<BarDatum> driftBars = driftColumnBars(
        parseDriftColumns(drift.is_object() ? drift.value("columns", json()) : json()));
    m_driftChart->setData(driftBars, tr("drift statistic"));
    buildDriftOverTime();
    m_windowColumns->setRows({});
    m_qualityTable->setRows(parseQualityColumns(quality));
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
    m_windowColumns->setRows({});
    const json windows =
        m_drift.is_object() ? m_drift.value("windows", json::array()) : json::array();
    if (window < 0 || window >= int(windows.size()))
        return;
    const json &w = windows[std::size_t(window)];
    m_windowLabel->setText(tr("Window %1: %2 → %3, %4 rows, %5% drifted")
                               .arg(window)
                               .arg(reportText(w.value("start", json())),
                                    reportText(w.value("end", json())),
                                    reportText(w.value("rows", json())))
                               .arg(number(w.value("share_drifted", json()), 0) * 100, 0, 'f', 0));
    m_windowColumns->setRows(parseDriftColumns(w.value("columns", json::array())));
}

void EvalPage::listConfusionRows(int actualIndex, int predictedIndex)
{
    const QStringList &labels = m_heatmap->labels();
    if (actualIndex < 0 || predictedIndex < 0 || actualIndex >= labels.size() ||
        predictedIndex >= labels.size())
        return;
    if (!m_rows->select(labels[actualIndex], labels[predictedIndex])) {
        m_rowsLabel->setText(tr("The dataset's rows are not loaded (reports loaded from files)."));
        return;
    }
    m_rowsLabel->setText(tr("Actual %1, predicted %2: %n row(s)", nullptr, m_rows->matchedCount())
                             .arg(labels[actualIndex], labels[predictedIndex]));
}

} // namespace sb::ui
