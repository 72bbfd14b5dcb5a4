/** Save text or a canvas as a file through the browser's download mechanism (both hosts). */
export function downloadBlob(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadText(fileName: string, text: string, mime = 'application/json'): void {
  downloadBlob(fileName, new Blob([text], { type: mime }));
}

export function downloadCanvas(fileName: string, canvas: HTMLCanvasElement): Promise<void> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (!blob) return reject(new Error('the heatmap could not be encoded as PNG'));
      downloadBlob(fileName, blob);
      resolve();
    }, 'image/png');
  });
}

/** A file name stem from a capture name: "demo.safetensors" -> "demo". */
export function stem(fileName: string): string {
  return fileName.replace(/\.[^.]+$/, '') || 'sparsescope';
}
