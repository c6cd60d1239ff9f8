#include "ui/governance/signoff_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>

namespace sb::ui {

SignOffDialog::SignOffDialog(const QString &itemText, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Sign off checklist item"));
    auto *form = new QFormLayout(this);
    auto *item = new QLabel(itemText, this);
    item->setWordWrap(true);
    form->addRow(tr("Item:"), item);
    m_reviewer = new QLineEdit(this);
    m_reviewer->setObjectName("reviewer");
    m_reviewer->setPlaceholderText(tr("your name"));
    form->addRow(tr("Reviewer:"), m_reviewer);
    m_role = new QLineEdit(this);
    m_role->setObjectName("role");
    m_role->setPlaceholderText(tr("e.g. ML lead, privacy officer"));
    form->addRow(tr("Role:"), m_role);
    m_decision = new QComboBox(this);
    m_decision->setObjectName("decision");
    m_decision->addItem(tr("Approve"), "approve");
    m_decision->addItem(tr("Needs work"), "needs_work");
    m_decision->addItem(tr("Reject"), "reject");
    form->addRow(tr("Decision:"), m_decision);
    m_comment = new QPlainTextEdit(this);
    m_comment->setObjectName("comment");
    m_comment->setPlaceholderText(tr("What you checked and why"));
    form->addRow(tr("Comment:"), m_comment);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Sign"));
    form->addRow(buttons);
    auto validate = [this, buttons]() {
        buttons->button(QDialogButtonBox::Ok)
            ->setEnabled(!m_reviewer->text().trimmed().isEmpty() &&
                         !m_role->text().trimmed().isEmpty());
    };
    connect(m_reviewer, &QLineEdit::textChanged, this, validate);
    connect(m_role, &QLineEdit::textChanged, this, validate);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    validate();
}

QString SignOffDialog::reviewer() const
{
    return m_reviewer->text().trimmed();
}
QString SignOffDialog::role() const
{
    return m_role->text().trimmed();
}
QString SignOffDialog::decision() const
{
    return m_decision->currentData().toString();
}
QString SignOffDialog::comment() const
{
    return m_comment->toPlainText().trimmed();
}

void SignOffDialog::setValues(const QString &reviewer, const QString &role, const QString &decision,
                              const QString &comment)
{
    m_reviewer->setText(reviewer);
    m_role->setText(role);
    m_decision->setCurrentIndex(std::max(0, m_decision->findData(decision)));
    m_comment->setPlainText(comment);
}

} // namespace sb::ui
