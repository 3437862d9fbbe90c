"""The PDF book (Jupyter Book's LaTeX build): the HTML book's chapter numbers, and math in headings.

One chapter numbering for the PDF and the HTML book.
The HTML book numbers the chapters of the parts that _toc.yml marks ``numbered: true`` (1 The
Donsker-Varadhan duality, 2 MINE, ...) and leaves the other pages (notation, instructors, the
reproduction report, the references) unnumbered. LaTeX numbers every ``\\chapter``, so without this
extension the two getting-started pages would shift every chapter of the PDF by two. In the LaTeX
build, each chapter is given the number the HTML book gives it (Sphinx's toctree numbering), and a
page the HTML book does not number stays unnumbered (the commands are in chapternumbers.sty).

Math in a heading: mathbookmarks.sty writes its Greek letters as characters in the PDF's bookmarks,
where unicode-math's symbols would stop the build.
"""

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform


class ChapterNumbers(SphinxPostTransform):
    default_priority = 800  # after sphinx-jupyterbook-latex has arranged the parts (700)
    builders = ("latex",)

    def run(self, **kwargs):
        for start in list(self.document.findall(addnodes.start_of_file)):
            docname = start.get("docname")
            if docname not in self.env.all_docs:
                continue  # a part heading that sphinx-jupyterbook-latex made from a caption
            number = self.env.toc_secnumbers.get(docname, {}).get("")
            if number and len(number) > 1:
                continue  # a page nested inside a chapter: a section, numbered by LaTeX
            command = rf"\numberedchapter{{{number[0]}}}" if number else r"\unnumberedchapter"
            start.insert(0, nodes.raw("", command + "\n", format="latex"))


def setup(app):
    app.add_post_transform(ChapterNumbers)
    app.add_latex_package("chapternumbers")
    app.add_latex_package("mathbookmarks")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
