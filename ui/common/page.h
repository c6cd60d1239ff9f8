// One page of the main window's tab bar. The window keeps its pages in a list
// and knows nothing else about them: it shows each page's widget under its
// title and icon, and calls activate() when the user turns to the page (a
// store-backed page re-reads the store there).
#pragma once

#include <QIcon>
#include <QString>

class QWidget;

namespace sb::ui {

class Page
{
public:
    virtual ~Page() = default;
    // The tab title, with its & mnemonic ("Go&vernance").
    virtual QString title() const = 0;
    virtual QIcon icon() const { return {}; }
    virtual QWidget *widget() = 0;
    // The page became the current one.
    virtual void activate() {}
};

} // namespace sb::ui
