// Sign-off for one checklist item: reviewer, role, decision, comment.
#pragma once

#include <QDialog>

class QComboBox;
class QLineEdit;
class QPlainTextEdit;

namespace sb::ui {

class SignOffDialog : public QDialog
{
    Q_OBJECT
public:
    SignOffDialog(const QString &itemText, QWidget *parent = nullptr);

    QString reviewer() const;
    QString role() const;
    QString decision() const; // approve | reject | needs_work
    QString comment() const;
    void setValues(const QString &reviewer, const QString &role, const QString &decision,
                   const QString &comment);

private:
    QLineEdit *m_reviewer;
    QLineEdit *m_role;
    QComboBox *m_decision;
    QPlainTextEdit *m_comment;
};

} // namespace sb::ui
