# latexmk configuration for the paper
$pdf_mode = 1;
$out_dir = 'build';
$bibtex_use = 2;          # run bibtex and delete .bbl on clean
$pdflatex = 'pdflatex -synctex=1 -file-line-error -interaction=nonstopmode %O %S';
@default_files = ('main.tex');
$clean_ext = 'synctex.gz run.xml bbl';
