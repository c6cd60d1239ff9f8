// Report: the evaluation report inside the app (HTML view) with export to
// HTML and PDF, and the model card.
#pragma once

#include "ui/common/task_runner.h"

#include <QWidget>

class QTextBrowser;

namespace sb::ui {

class EvalPage;

class ReportPage : public QWidget
{
    Q_OBJECT
public:
    ReportPage(TaskRunner *tasks, EvalPage *evalPage, QWidget *parent = nullptr);

    // Rebuilds the HTML from the evaluation page's current reports.
    void rebuild();
    QString html() const { return m_html; }
    // Writes HTML (or PDF for a .pdf path); empty string on success.
    QString exportTo(const QString &path);
    void exportDialog();

signals:
    void errorOccurred(const QString &message);
    void exported(const QString &path);

private:
    TaskRunner *m_tasks;
    EvalPage *m_evalPage;
    QTextBrowser *m_view;
    QString m_html;
};

} // namespace sb::ui
